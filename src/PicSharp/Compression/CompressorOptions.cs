namespace PicSharp.Compression;

/// <summary>What the decoder receives: memory-token embeddings (ICAE/PIC) or their per-layer K/V (500xCompressor).</summary>
public enum MemoryKind { Embeddings, KeyValues }

/// <summary>LoRA on chosen projections; names are the HF/PEFT module names.</summary>
public sealed record LoraOptions
{
    public static readonly string[] AllTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; }
    public IReadOnlyList<string> TargetModules { get; init; } = AllTargets;

    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"LoRA rank must be positive, got {Rank}");
        var unknown = TargetModules.Except(AllTargets).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown LoRA target module(s) {string.Join(", ", unknown)}; known: {string.Join(", ", AllTargets)}");
    }
}

public sealed record CompressorOptions
{
    public int Ratio { get; init; } = 4;
    public int ChunkLength { get; init; } = 64;
    public MaskPolicy Policy { get; init; } = MaskPolicy.Pic;
    public MemoryPlacement Placement { get; init; } = MemoryPlacement.Interleaved;
    public MemoryPositions Positions { get; init; } = MemoryPositions.Sequential;
    public MemoryKind Kind { get; init; } = MemoryKind.Embeddings;
    /// <summary>
    /// Plain causal attention instead of a materialised mask where the policy allows it: under `pic` the chunks run as
    /// a batch (cost ∝ chunks·c² instead of context²), under `global` the memory tokens follow the text in one causal
    /// row (the same context², without the mask). The ablation policies always run the mask.
    /// </summary>
    public bool FastPath { get; init; } = true;
    public LoraOptions Lora { get; init; } = new();

    public int MemorySlots => ChunkLength / Ratio;

    /// <summary>Where a context's text and memory tokens sit in the compressor's sequence (`global` spans the whole context).</summary>
    public MemoryLayout Layout(int contextLength) =>
        new(contextLength, Ratio, ChunkLength, Placement, Positions, globalSpan: Policy == MaskPolicy.Global);

    /// <summary>Memory tokens a context of <paramref name="contextLength"/> tokens becomes.</summary>
    public int MemoryCount(int contextLength) => new MemoryLayout(contextLength, Ratio, ChunkLength).MemoryCount;

    public void Validate()
    {
        MemoryLayout.Validate(1, Ratio, ChunkLength);
        Lora.Validate();
    }
}
