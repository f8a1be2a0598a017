namespace PicSharp.Training;

/// <summary>What every recipe's optimizer step reports, so <see cref="TrainingRun{TOptions, TState, TStep}"/> can
/// count its tokens and write its metrics line; Tokens and Seconds are this step's alone.</summary>
public interface ITrainingStep
{
    int Step { get; }
    double Loss { get; }
    double LearningRate { get; }
    double GradNorm { get; }
    long Tokens { get; }
    double Seconds { get; }
}
