using PicSharp.Compression;

namespace PicSharp.Training;

/// <summary>
/// The memory episodes a base model's pretraining mixes into next-token training (<see cref="MemoryEpisodes"/>). Saved
/// with the run's options, so a resumed run draws the same episodes.
/// </summary>
public sealed record MemoryEpisodeOptions
{
    /// <summary>Weight of the episodes' loss in each micro-step; next-token training gets 1 − Weight.</summary>
    public double Weight { get; init; } = 0.5;
    public int EpisodesPerMicroBatch { get; init; } = 8;
    /// <summary>Compression ratios, opened from the lowest to all of them over <see cref="CurriculumSteps"/>.</summary>
    public IReadOnlyList<int> Ratios { get; init; } = [4, 16, 64];
    /// <summary>Ratio k of n (ascending) joins the draw at step k·CurriculumSteps/n: the first steps read 4x memory only,
    /// since a decoder that cannot read a generous memory gains nothing from a scarce one.</summary>
    public int CurriculumSteps { get; init; } = 1200;
    public int ChunkLength { get; init; } = 64;
    /// <summary>Share of episodes compressed under `global` (the rest under `pic`), so that neither arm of the later
    /// comparison is built into the base.</summary>
    public double GlobalShare { get; init; } = 0.5;
    /// <summary>Share of episodes whose memory is per-layer keys and values (the rest: embeddings).</summary>
    public double KeyValuesShare { get; init; } = 0.25;
    public MemoryPositions Positions { get; init; } = MemoryPositions.Sequential;
    /// <summary>0: the model itself compresses (its weights write memory and read it). r &gt; 0: each arrangement
    /// compresses through its own LoRA adapter of rank r (alpha 2r) on the model, as a compressor does, so writing memory
    /// need not share every weight with reading it; the model's weights still train through both passes.</summary>
    public int EncoderLoraRank { get; init; }
    /// <summary>Peak learning rate of the memory and task tokens and the encoder adapters (null: the model's).</summary>
    public double? LearningRate { get; init; }
    /// <summary>Share of micro-steps whose memory is pooled token embeddings (<see cref="PooledMemory"/>) instead of
    /// the model's own compression: the decoder learns to read memory that already holds its passage.</summary>
    public double PooledShare { get; init; }
    /// <summary>Share of episodes that answer a question about their passage (when QA passages are given).</summary>
    public double QaShare { get; init; } = 0.4;
    /// <summary>Of the other episodes, the share that reconstruct a QA passage (names, places, numbers: what the
    /// answering episodes need memory to keep) instead of a corpus window.</summary>
    public double PassageShare { get; init; }
    /// <summary>Of the corpus-window episodes, the share that continue the window; the rest reconstruct it.</summary>
    public double ContinueShare { get; init; } = 0.3;
    public int MinWindow { get; init; } = 64;
    public int MaxWindow { get; init; } = 256;
    public int ContinuationLength { get; init; } = 64;
    /// <summary>QA passages longer than this many tokens are left out of the episodes.</summary>
    public int MaxQaContext { get; init; } = 512;

    /// <summary>Throws <see cref="TrainingException"/> naming the first field out of range, as a field of
    /// <see cref="TrainingOptions.MemoryEpisodes"/> (MemoryEpisodes.Weight).</summary>
    public void Validate()
    {
        void Require(bool ok, string field, string problem) { if (!ok) throw new TrainingException($"{nameof(TrainingOptions.MemoryEpisodes)}.{field} {problem}"); }
        Require(Weight is > 0 and <= 1, nameof(Weight), $"must be in (0, 1], got {Weight}");
        Require(EpisodesPerMicroBatch > 0, nameof(EpisodesPerMicroBatch), $"must be positive, got {EpisodesPerMicroBatch}");
        Require(Ratios.Count > 0 && Ratios.All(r => r >= 1 && ChunkLength % r == 0), nameof(Ratios),
            $"must be positive divisors of the chunk length {ChunkLength}, got [{string.Join(", ", Ratios)}]");
        Require(Ratios.Distinct().Count() == Ratios.Count, nameof(Ratios), $"repeat: [{string.Join(", ", Ratios)}]");
        Require(CurriculumSteps >= 0, nameof(CurriculumSteps), $"must be ≥ 0, got {CurriculumSteps}");
        Require(GlobalShare is >= 0 and <= 1, nameof(GlobalShare), $"must be in [0, 1], got {GlobalShare}");
        Require(KeyValuesShare is >= 0 and <= 1, nameof(KeyValuesShare), $"must be in [0, 1], got {KeyValuesShare}");
        Require(EncoderLoraRank >= 0, nameof(EncoderLoraRank), $"must be ≥ 0, got {EncoderLoraRank}");
        Require(LearningRate is null or > 0, nameof(LearningRate), $"must be positive, got {LearningRate}");
        Require(PooledShare is >= 0 and <= 1, nameof(PooledShare), $"must be in [0, 1], got {PooledShare}");
        Require(QaShare is >= 0 and <= 1, nameof(QaShare), $"must be in [0, 1], got {QaShare}");
        Require(PassageShare is >= 0 and <= 1, nameof(PassageShare), $"must be in [0, 1], got {PassageShare}");
        Require(ContinueShare is >= 0 and <= 1, nameof(ContinueShare), $"must be in [0, 1], got {ContinueShare}");
        Require(MinWindow >= 1 && MaxWindow >= MinWindow, nameof(MinWindow), $"and {nameof(MaxWindow)} must satisfy 1 ≤ min ≤ max, got {MinWindow}..{MaxWindow}");
        Require(ContinuationLength >= 1, nameof(ContinuationLength), $"must be positive, got {ContinuationLength}");
        Require(MaxQaContext >= 1, nameof(MaxQaContext), $"must be positive, got {MaxQaContext}");
    }

    /// <summary>The ratios open at <paramref name="step"/>, lowest first.</summary>
    public IReadOnlyList<int> RatiosAt(int step)
    {
        var sorted = Ratios.Order().ToList();
        if (CurriculumSteps == 0) return sorted;
        int open = 1 + (int)Math.Min(sorted.Count - 1, (long)step * sorted.Count / CurriculumSteps);
        return sorted.Take(open).ToList();
    }
}
