using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// One LoRA adapter for one projection: Δy = B·A·dropout(x) · alpha/rank, kept in fp32 (it is what trains) while the
/// frozen base may run in bf16. Its parts are named `lora_A`, `lora_B` as in PEFT. The adapter belongs to whoever
/// created it (a compressor); a <see cref="Projection"/> only runs it while it is attached and selected.
/// </summary>
public sealed class LoraAdapter : nn.Module<Tensor, Tensor>
{
    readonly Linear lora_A;
    readonly Linear lora_B;
    readonly Dropout? lora_dropout;
    // Held for the adapter's life rather than made per call (see TorchScalars).
    readonly Scalar scaling;

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public double Scaling { get; }

    /// <summary>A is Kaiming-uniform as in PEFT, B is zero, so a new adapter leaves the layer's output unchanged.</summary>
    public LoraAdapter(int inFeatures, int outFeatures, int rank, double alpha, double dropout, Generator? generator = null)
        : base(nameof(LoraAdapter))
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Scaling = alpha / rank;
        scaling = Scaling.ToScalar();
        lora_A = nn.Linear(inFeatures, rank, hasBias: false, dtype: ScalarType.Float32);
        lora_B = nn.Linear(rank, outFeatures, hasBias: false, dtype: ScalarType.Float32);
        using (no_grad())
        using (NewDisposeScope()) // in-place initialisers return new handles to the weights
        {
            // PEFT's kaiming_uniform_(a=√5) is uniform(±1/√fan_in); drawn here so a seed fixes it.
            double bound = 1 / Math.Sqrt(inFeatures);
            lora_A.weight!.uniform_(-bound, bound, generator);
            lora_B.weight!.zero_();
        }
        if (dropout > 0) lora_dropout = nn.Dropout(dropout);
        RegisterComponents();
    }

    public Parameter A => lora_A.weight!;
    public Parameter B => lora_B.weight!;

    /// <summary>The adapter's contribution for input x (any dtype), in fp32.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor input = x.to(A.dtype);
        Tensor dropped = lora_dropout is null ? input : lora_dropout.forward(input);
        return lora_B.forward(lora_A.forward(dropped)).mul(scaling).MoveToOuterDisposeScope();
    }

    /// <summary>s·B·A, the change this adapter makes to the projection's weight, in fp32.</summary>
    public Tensor WeightDelta()
    {
        using var scope = NewDisposeScope();
        return B.matmul(A).mul(scaling).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) scaling.Dispose();
        base.Dispose(disposing);
    }
}
