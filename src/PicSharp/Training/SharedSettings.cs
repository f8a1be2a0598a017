namespace PicSharp.Training;

/// <summary>
/// The checks of the settings every training recipe shares (AdamW, the warmup + cosine schedule, batches, intervals),
/// in one place so that each recipe refuses them in the same words, naming the field.
/// </summary>
public static class SharedSettings
{
    public static void Validate<TOptions>(TOptions o) where TOptions : ITrainingRunOptions<TOptions>
    {
        Require(o.LearningRate > 0, $"{nameof(o.LearningRate)} must be positive, got {o.LearningRate}");
        Require(o.MinLearningRateRatio is >= 0 and <= 1, $"{nameof(o.MinLearningRateRatio)} must be in [0, 1], got {o.MinLearningRateRatio}");
        Require(o.WarmupSteps >= 0, $"{nameof(o.WarmupSteps)} must be ≥ 0, got {o.WarmupSteps}");
        Require(o.TotalSteps > 0, $"{nameof(o.TotalSteps)} must be positive, got {o.TotalSteps}");
        Require(o.MicroBatchSize > 0, $"{nameof(o.MicroBatchSize)} must be positive, got {o.MicroBatchSize}");
        Require(o.GradientAccumulation > 0, $"{nameof(o.GradientAccumulation)} must be positive, got {o.GradientAccumulation}");
        Require(o.MaxGradNorm > 0, $"{nameof(o.MaxGradNorm)} must be positive, got {o.MaxGradNorm}");
        Require(o.WeightDecay >= 0, $"{nameof(o.WeightDecay)} must be ≥ 0, got {o.WeightDecay}");
        Require(o.Beta1 is >= 0 and < 1 && o.Beta2 is >= 0 and < 1, $"{nameof(o.Beta1)} and {nameof(o.Beta2)} must be in [0, 1), got ({o.Beta1}, {o.Beta2})");
        Require(o.CheckpointMinutes > 0, $"{nameof(o.CheckpointMinutes)} must be positive, got {o.CheckpointMinutes}");
        Require(o.LogEverySteps > 0, $"{nameof(o.LogEverySteps)} must be positive, got {o.LogEverySteps}");
        Require(o.EvalEverySteps > 0, $"{nameof(o.EvalEverySteps)} must be positive, got {o.EvalEverySteps}");
    }

    /// <summary>Throws <see cref="TrainingException"/> with <paramref name="message"/> unless <paramref name="ok"/>.</summary>
    public static void Require(bool ok, string message)
    {
        if (!ok) throw new TrainingException(message);
    }
}
