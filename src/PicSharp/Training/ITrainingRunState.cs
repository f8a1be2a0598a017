namespace PicSharp.Training;

/// <summary>What every recipe's state.json holds, so <see cref="TrainingRun{TOptions, TState, TStep}"/> can check and
/// continue a checkpoint; a recipe adds what its own resume needs.</summary>
public interface ITrainingRunState
{
    int Step { get; }
    long TokensSeen { get; }
    /// <summary>Wall clock of every invocation of the run so far.</summary>
    double ElapsedSeconds { get; }
    /// <summary>Fingerprint of the training data; a resume on other data is refused.</summary>
    string DataHash { get; }
}
