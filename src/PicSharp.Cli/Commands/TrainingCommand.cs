using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// What every training command does around its recipe's <see cref="TrainingRun{TOptions, TState, TStep}"/>: claims
/// the run folder for the whole command, takes a resumed run's options from its checkpoint, and runs under one display
/// (a progress bar or log lines, a note per evaluation and checkpoint, loss.png redrawn at each checkpoint) that Ctrl+C
/// or SIGTERM stops cleanly with a checkpoint.
/// </summary>
static class TrainingCommand
{
    /// <summary>Claims <paramref name="runDir"/> and logs the leftovers of killed writes it removed. Hold the claim to
    /// the end (exports included): a second run into the folder is refused, naming this one.</summary>
    public static RunFolderLock Claim(string runDir)
    {
        var claim = RunFolderLock.Acquire(runDir);
        foreach (string leftover in claim.RemovedLeftovers) Log($"removed {leftover}, left by a run killed while writing it");
        return claim;
    }

    /// <summary>The options to train with, validated: the given ones, or with --resume the checkpoint's (only the
    /// intervals may change), refusing given settings that contradict them.</summary>
    /// <param name="restart">how to train differently instead, e.g. "start a new run from RUN/checkpoint with --model".</param>
    public static TOptions Options<TOptions>(string runDir, bool resume, TOptions given, GivenSettings<TOptions> settings,
        Func<string, TOptions> readCheckpointOptions, string restart) where TOptions : ITrainingRunOptions<TOptions>
    {
        var options = resume ? settings.Resume(given, readCheckpointOptions(runDir), restart) : given;
        settings.Validate(options);
        if (resume) Log($"resuming {runDir} with the checkpoint's training options");
        return options;
    }

    /// <summary>Trains <paramref name="run"/> to its end, <paramref name="stopAtStep"/>, <paramref name="maxMinutes"/>
    /// or a stop signal, showing each step with <paramref name="describeStep"/> and each "eval" line with
    /// <paramref name="describeEvaluation"/>. Returns the final state.</summary>
    public static TState Run<TOptions, TState, TStep>(TrainingRun<TOptions, TState, TStep> run, TOptions options, int? stopAtStep, double? maxMinutes,
        Func<TStep, string> describeStep, Func<MetricsRecord, string> describeEvaluation)
        where TOptions : ITrainingRunOptions<TOptions> where TState : ITrainingRunState where TStep : ITrainingStep
    {
        run.CheckpointWritten += dir => LossCurve.Save(run.Metrics, Path.Combine(dir, "loss.png"));
        using var stop = new StopSignal();
        var maxDuration = maxMinutes is double m ? TimeSpan.FromMinutes(m) : (TimeSpan?)null;
        var progress = new TrainingProgress(options.TotalSteps, options.LogEverySteps);
        run.StepCompleted += (step, _) => progress.Step(step.Step, step.Tokens, step.Seconds, describeStep(step));
        run.Evaluated += line => progress.Note(describeEvaluation(line));
        run.CheckpointWritten += dir => progress.Note($"checkpoint at step {run.Step} in {dir}");
        return progress.Run(run.Step, () => run.Run(stopAtStep, maxDuration, stop.Token));
    }

    static void Log(string message) => TrainingProgress.Log(message);
}
