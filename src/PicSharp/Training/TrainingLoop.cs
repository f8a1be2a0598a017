using System.Diagnostics;

namespace PicSharp.Training;

/// <summary>
/// The outer loop every training recipe shares: steps until the last step, a time limit or cancellation, a checkpoint
/// every few minutes and one at the end. Each callback receives a clock: the seconds elapsed in this invocation so far.
/// </summary>
public static class TrainingLoop
{
    public static void Run(Func<int> completedSteps, int lastStep, TimeSpan? maxDuration, CancellationToken cancel,
        double checkpointMinutes, Action<Func<double>> trainStep, Action<Func<double>> saveCheckpoint)
    {
        var clock = Stopwatch.StartNew();
        double Elapsed() => clock.Elapsed.TotalSeconds;
        var sinceCheckpoint = Stopwatch.StartNew();
        while (completedSteps() < lastStep && !cancel.IsCancellationRequested && (maxDuration is null || clock.Elapsed < maxDuration))
        {
            trainStep(Elapsed);
            if (sinceCheckpoint.Elapsed.TotalMinutes >= checkpointMinutes)
            {
                saveCheckpoint(Elapsed);
                sinceCheckpoint.Restart();
            }
        }
        saveCheckpoint(Elapsed);
    }
}
