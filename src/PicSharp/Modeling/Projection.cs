using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// A linear layer (y = x Wᵀ + b) that can run named LoRA adapters, as PEFT's LoRA layers do. Adapters are attached by
/// name and are not submodules: the model's parameters stay the base checkpoint, and whoever attached an adapter owns
/// (and disposes) it. One adapter, or none, is active per forward, so one loaded model can serve several compressors
/// (each with its own adapter) and the frozen decoder (no adapter) at once.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly Dictionary<string, LoraAdapter> adapters = [];
    // Per execution flow rather than per object, so two threads (say two requests of a service) can run the same
    // model with different adapters.
    readonly AsyncLocal<string?> activeAdapter = new();

    public int InFeatures { get; }
    public int OutFeatures { get; }

    public Projection(int inFeatures, int outFeatures, bool hasBias, ScalarType dtype = ScalarType.Float32) : base(nameof(Projection))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty(outFeatures, inFeatures, dtype));
        register_parameter("weight", weight);
        if (hasBias)
        {
            bias = new Parameter(zeros(outFeatures, dtype));
            register_parameter("bias", bias);
        }
    }

    public Parameter Weight => weight;

    public IReadOnlyDictionary<string, LoraAdapter> Adapters => adapters;

    /// <summary>The adapter the next forwards run (null: the base layer alone); see <see cref="LlamaForCausalLM.UseAdapter"/>.</summary>
    public string? ActiveAdapter
    {
        get => activeAdapter.Value;
        set => activeAdapter.Value = value;
    }

    public override Tensor forward(Tensor x)
    {
        Tensor y = nn.functional.linear(x, weight, bias);
        if (ActiveAdapter is not string name || !adapters.TryGetValue(name, out var adapter)) return y;
        using var scope = NewDisposeScope();
        return y.add(adapter.forward(x).to(y.dtype), TorchScalars.One).MoveToOuterDisposeScope();
    }

    public void AttachAdapter(string name, LoraAdapter adapter)
    {
        if (adapter.InFeatures != InFeatures || adapter.OutFeatures != OutFeatures)
            throw new ArgumentException($"adapter '{name}' maps {adapter.InFeatures} → {adapter.OutFeatures} features, this projection {InFeatures} → {OutFeatures}");
        if (!adapters.TryAdd(name, adapter)) throw new InvalidOperationException($"this projection already has an adapter named '{name}'");
    }

    /// <summary>Removes the adapter (without disposing it: it belongs to whoever attached it).</summary>
    public void DetachAdapter(string name) => adapters.Remove(name);

    /// <summary>Folds an adapter into the base weight (W += s·B·A) and detaches it, for inference without LoRA cost.</summary>
    public void MergeAdapter(string name)
    {
        if (!adapters.TryGetValue(name, out var adapter)) throw new InvalidOperationException($"this projection has no adapter named '{name}' to merge");
        using (no_grad())
        using (var delta = adapter.WeightDelta())
            weight.add_(delta.to(weight.dtype), TorchScalars.One);
        DetachAdapter(name);
    }
}
