namespace PicSharp.Training;

/// <summary>
/// What every recipe's options record offers <see cref="TrainingRun{TOptions, TState, TStep}"/>: the settings every
/// recipe shares (checked by <see cref="SharedSettings"/>), its options.json, and which settings a resume may change
/// (the checkpoint and log intervals, nothing that moves the trajectory).
/// </summary>
public interface ITrainingRunOptions<TSelf> where TSelf : ITrainingRunOptions<TSelf>
{
    /// <summary>Peak learning rate (of the main parameter group); the cosine decays to LearningRate × MinLearningRateRatio.</summary>
    double LearningRate { get; }
    double MinLearningRateRatio { get; }
    int WarmupSteps { get; }
    int TotalSteps { get; }
    int MicroBatchSize { get; }
    int GradientAccumulation { get; }
    double MaxGradNorm { get; }
    double WeightDecay { get; }
    double Beta1 { get; }
    double Beta2 { get; }
    int EvalEverySteps { get; }
    double CheckpointMinutes { get; }
    int LogEverySteps { get; }

    /// <summary>Throws <see cref="TrainingException"/> naming the first setting out of range.</summary>
    void Validate();
    string ToJson();
    static abstract TSelf FromJson(string json);

    /// <summary>These options with <paramref name="other"/>'s checkpoint and log intervals (what a resume may change).</summary>
    TSelf WithIntervalsOf(TSelf other);

    /// <summary>Same trajectory: equal apart from the intervals a resume may change.</summary>
    bool SameTrajectory(TSelf other);
}
