using System.Text.Json;
using System.Text.Json.Serialization;
using PicSharp.Compression;
using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>
/// Everything that decides the trajectory of `pic train-compressor`: the compressor's shape, the objective and its
/// data shapes, and the optimiser. Saved as options.json in each checkpoint so a resumed run continues with the same
/// settings (only the logging and checkpoint intervals may change on resume).
/// </summary>
public sealed record CompressorTrainingOptions : ITrainingRunOptions<CompressorTrainingOptions>
{
    public CompressorOptions Compressor { get; init; } = new();
    public CompressorObjective Objective { get; init; } = CompressorObjective.Pretrain;
    /// <summary>How a new compressor's memory and task tokens start (ignored when the run starts from a folder).</summary>
    public MemoryInit MemoryInit { get; init; } = MemoryInit.Random;

    /// <summary>Peak learning rate of the LoRA matrices.</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Peak learning rate of the memory-token and task-token embeddings (their own parameter group).</summary>
    public double MemoryLearningRate { get; init; } = 2e-3;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public int TotalSteps { get; init; } = 1000;
    public int MicroBatchSize { get; init; } = 8;
    public int GradientAccumulation { get; init; } = 1;
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Decoupled weight decay of the LoRA matrices; the memory and task embeddings are never decayed
    /// (shrinking them would move them away from the scale the frozen decoder reads).</summary>
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public long Seed { get; init; } = 1234;

    /// <summary>Pretrain: share of windows used for LM continuation; the rest are autoencoded.</summary>
    public double LmShare { get; init; } = 0.5;
    /// <summary>Pretrain: context tokens per window (what is compressed).</summary>
    public int WindowLength { get; init; } = 256;
    /// <summary>Pretrain: tokens the decoder continues after the window (LM task).</summary>
    public int ContinuationLength { get; init; } = 64;

    public double CheckpointMinutes { get; init; } = 10;
    public int LogEverySteps { get; init; } = 10;
    public int EvalEverySteps { get; init; } = 100;
    /// <summary>Held-out windows and dev questions of each probe.</summary>
    public int EvalSamples { get; init; } = 32;

    [JsonIgnore]
    public bool HasLmTask => Objective == CompressorObjective.Pretrain && LmShare > 0;

    /// <summary>Throws <see cref="TrainingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        try { Compressor.Validate(); }
        catch (ArgumentException e) { throw new TrainingException(e.Message); }
        SharedSettings.Validate(this);
        SharedSettings.Require(MemoryLearningRate > 0, $"{nameof(MemoryLearningRate)} must be positive, got {MemoryLearningRate}");
        SharedSettings.Require(LmShare is >= 0 and <= 1, $"{nameof(LmShare)} must be in [0, 1], got {LmShare}");
        SharedSettings.Require(WindowLength > 0, $"{nameof(WindowLength)} must be positive, got {WindowLength}");
        SharedSettings.Require(ContinuationLength > 0, $"{nameof(ContinuationLength)} must be positive, got {ContinuationLength}");
        SharedSettings.Require(EvalSamples >= 0, $"{nameof(EvalSamples)} must be ≥ 0, got {EvalSamples}");
    }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static CompressorTrainingOptions FromJson(string json) =>
        JsonSerializer.Deserialize<CompressorTrainingOptions>(json, Json) ?? throw new TrainingException("training options JSON is empty");

    public CompressorTrainingOptions WithIntervalsOf(CompressorTrainingOptions other) =>
        this with { CheckpointMinutes = other.CheckpointMinutes, LogEverySteps = other.LogEverySteps };

    /// <summary>Same trajectory: equal options apart from the intervals a resume may change.</summary>
    public bool SameTrajectory(CompressorTrainingOptions other) => WithIntervalsOf(other).ToJson() == other.ToJson();
}
