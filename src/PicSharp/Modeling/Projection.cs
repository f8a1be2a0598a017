using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// A linear layer (y = x Wᵀ + b) that can carry a LoRA adapter. The adapter lives inside the layer as `lora_A` and
/// `lora_B`, so base weights keep their Hugging Face names and adapter weights get PEFT's names
/// (`…q_proj.lora_A.weight`). The adapter can be switched off per forward, which is how one model object serves as
/// both the compressor (adapters on) and the frozen decoder (adapters off).
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    Linear? loraA;
    Linear? loraB;
    Dropout? loraDropout;
    double loraScaling;

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public bool HasLora => loraA is not null;
    public bool LoraEnabled { get; set; } = true;

    public Projection(int inFeatures, int outFeatures, bool hasBias) : base(nameof(Projection))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty(outFeatures, inFeatures));
        register_parameter("weight", weight);
        if (hasBias)
        {
            bias = new Parameter(zeros(outFeatures));
            register_parameter("bias", bias);
        }
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        Tensor y = nn.functional.linear(x, weight, bias);
        if (loraA is null || loraB is null || !LoraEnabled) return y;
        // Adapters stay fp32 (they are what trains) while the frozen base may run in bf16.
        Tensor input = x.to(loraA.weight!.dtype);
        Tensor dropped = loraDropout is null ? input : loraDropout.forward(input);
        return y + (loraB.forward(loraA.forward(dropped)) * loraScaling).to(y.dtype);
    }

    /// <summary>
    /// Adds a fp32 LoRA adapter: A is Kaiming-uniform as in PEFT, B is zero, so the layer's output is unchanged.
    /// </summary>
    public void AttachLora(int rank, double alpha, double dropout, Generator? generator = null)
    {
        if (HasLora) throw new InvalidOperationException("this projection already has a LoRA adapter");
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be positive");
        loraA = nn.Linear(InFeatures, rank, hasBias: false, dtype: ScalarType.Float32);
        loraB = nn.Linear(rank, OutFeatures, hasBias: false, dtype: ScalarType.Float32);
        using (no_grad())
        {
            // PEFT's kaiming_uniform_(a=√5) is uniform(±1/√fan_in); drawn here so a seed fixes it.
            double bound = 1 / Math.Sqrt(InFeatures);
            loraA.weight!.uniform_(-bound, bound, generator);
            nn.init.zeros_(loraB.weight!);
        }
        loraScaling = alpha / rank;
        register_module("lora_A", loraA);
        register_module("lora_B", loraB);
        if (dropout > 0)
        {
            loraDropout = nn.Dropout(dropout);
            register_module("lora_dropout", loraDropout);
        }
    }

    /// <summary>Folds the adapter into the base weight (W += s·B·A) and removes it, for inference without LoRA cost.</summary>
    public void MergeLora()
    {
        if (loraA is null || loraB is null) throw new InvalidOperationException("this projection has no LoRA adapter to merge");
        using (no_grad())
        {
            var delta = loraB.weight!.to(ScalarType.Float32).matmul(loraA.weight!.to(ScalarType.Float32)) * loraScaling;
            weight.add_(delta.to(weight.dtype));
        }
        _internal_submodules.Remove("lora_A");
        _internal_submodules.Remove("lora_B");
        if (loraDropout is not null) _internal_submodules.Remove("lora_dropout");
        loraA.Dispose();
        loraB.Dispose();
        loraDropout?.Dispose();
        loraA = loraB = null;
        loraDropout = null;
    }
}
