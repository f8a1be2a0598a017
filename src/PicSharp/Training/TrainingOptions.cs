using System.Text.Json;
using System.Text.Json.Serialization;
using PicSharp.Modeling;

namespace PicSharp.Training;

/// <summary>Thrown for training settings or data the recipe cannot use; the message names the setting or file.</summary>
public sealed class TrainingException(string message) : Exception(message);

/// <summary>
/// Everything that decides the optimisation trajectory of `pic pretrain-lm`. Saved in each checkpoint so a resumed run
/// continues with the same settings.
/// </summary>
public sealed record TrainingOptions : ITrainingRunOptions<TrainingOptions>
{
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>The cosine decays to LearningRate × MinLearningRateRatio at TotalSteps.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 100;
    public int TotalSteps { get; init; } = 1000;
    public int MicroBatchSize { get; init; } = 8;
    public int SequenceLength { get; init; } = 512;
    public int GradientAccumulation { get; init; } = 1;
    public double MaxGradNorm { get; init; } = 1.0;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public long Seed { get; init; } = 1234;
    /// <summary>"float32" or "bfloat16" (bf16 forward/backward with fp32 master weights and optimizer).</summary>
    public string Dtype { get; init; } = "bfloat16";
    /// <summary>Share of training sequences drawn from QA examples; the rest are corpus windows.</summary>
    public double QaShare { get; init; } = 0.5;
    public double CheckpointMinutes { get; init; } = 10;
    public int LogEverySteps { get; init; } = 10;
    public int EvalEverySteps { get; init; } = 200;
    /// <summary>Held-out sequences (of SequenceLength tokens) scored at each evaluation.</summary>
    public int EvalSequences { get; init; } = 16;
    /// <summary>Memory episodes mixed into training (a base that learns to read its own memory); null: none.</summary>
    public MemoryEpisodeOptions? MemoryEpisodes { get; init; }

    /// <summary>Tokens in one optimizer step.</summary>
    [JsonIgnore]
    public long TokensPerStep => (long)MicroBatchSize * SequenceLength * GradientAccumulation;

    [JsonIgnore]
    public bool UseBf16 => Dtype == "bfloat16";

    /// <summary>Throws <see cref="TrainingException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        SharedSettings.Validate(this);
        SharedSettings.Require(SequenceLength > 1, $"{nameof(SequenceLength)} must be > 1, got {SequenceLength}");
        SharedSettings.Require(Dtype is "float32" or "bfloat16", $"{nameof(Dtype)} must be 'float32' or 'bfloat16', got '{Dtype}'");
        SharedSettings.Require(QaShare is >= 0 and <= 1, $"{nameof(QaShare)} must be in [0, 1], got {QaShare}");
        SharedSettings.Require(EvalSequences >= 0, $"{nameof(EvalSequences)} must be ≥ 0, got {EvalSequences}");
        MemoryEpisodes?.Validate();
    }

    public TrainingOptions WithIntervalsOf(TrainingOptions other) => this with { CheckpointMinutes = other.CheckpointMinutes, LogEverySteps = other.LogEverySteps };

    /// <summary>Same trajectory: equal options apart from the intervals a resume may change (compared as JSON,
    /// since the memory episodes' ratio list has no value equality).</summary>
    public bool SameTrajectory(TrainingOptions other) => WithIntervalsOf(other).ToJson() == other.ToJson();

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A run without memory episodes writes the options.json it always did.
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TrainingOptions FromJson(string json)
    {
        var options = JsonSerializer.Deserialize<TrainingOptions>(json, Json) ?? throw new TrainingException("training options JSON is empty");
        // Checkpoints written before the dtype names were unified say fp32/bf16; they resume as the same run.
        return options with { Dtype = DtypeNames.Canonical(options.Dtype) };
    }
}
