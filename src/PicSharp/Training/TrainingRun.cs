using System.Diagnostics;
using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Training;

/// <summary>
/// The skeleton every training recipe runs in, so a run folder means the same for each. Run folder: metrics.jsonl (a
/// "train" line per step and an "eval" line per evaluation, each with the wall clock) and checkpoint/, written whole or
/// not at all, which holds the recipe's files plus options.json and state.json.
/// A new run refuses a folder that holds a checkpoint. A resumed one must bring the checkpoint's options (only the
/// intervals may change) and data; it continues the checkpoint's counters and drops the metrics lines of work the
/// checkpoint does not contain. The loop evaluates every EvalEverySteps and at TotalSteps, writes a checkpoint every
/// CheckpointMinutes and at the end, and stops cleanly at a step limit, a time limit or cancellation.
/// A recipe brings its step, its evaluation and what it saves. The folder's claim (<see cref="RunFolderLock"/>) is the
/// command's, since the command writes into the folder (its token caches) before a run exists.
/// </summary>
public abstract class TrainingRun<TOptions, TState, TStep> : IDisposable
    where TOptions : ITrainingRunOptions<TOptions>
    where TState : ITrainingRunState
    where TStep : ITrainingStep
{
    public const string CheckpointDirName = "checkpoint";
    public const string MetricsFileName = "metrics.jsonl";
    public const string OptionsFileName = "options.json";
    public const string StateFileName = "state.json";

    static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    readonly MetricsLog metrics;
    long tokensSeen;
    double elapsedBefore; // seconds of earlier invocations (resume)

    /// <summary>Creates the run folder; the recipe's constructor then calls <see cref="StartFresh"/>, or
    /// <see cref="OpenCheckpoint"/> and <see cref="ContinueFrom"/>.</summary>
    protected TrainingRun(string runDir, TOptions options, string dataHash)
    {
        RunDirectory = runDir;
        Options = options;
        DataHash = dataHash;
        Directory.CreateDirectory(runDir);
        metrics = new MetricsLog(Path.Combine(runDir, MetricsFileName));
    }

    public event Action<TStep, TState>? StepCompleted;
    /// <summary>Raised with each "eval" line once it is in metrics.jsonl.</summary>
    public event Action<MetricsRecord>? Evaluated;
    /// <summary>Raised after each checkpoint is in place, with the run folder (e.g. to redraw the loss curve).</summary>
    public event Action<string>? CheckpointWritten;

    /// <summary>The machine's matmul FLOP/s in the compute dtype; when known, each step's model-FLOP utilisation is recorded as `mfu`.</summary>
    public double? PeakFlopsPerSecond { get; init; }
    public string RunDirectory { get; }
    public IReadOnlyList<MetricsRecord> Metrics => metrics.ReadAll();
    /// <summary>Optimizer steps completed (the recipe's trainer counts them).</summary>
    public abstract int Step { get; }
    public TState State(double elapsedThisRun) => NewState(tokensSeen, elapsedBefore + elapsedThisRun);

    protected TOptions Options { get; }
    protected string DataHash { get; }

    /// <summary>The state to save at this point of the run (<see cref="Step"/>, the given counters and the recipe's own).</summary>
    protected abstract TState NewState(long tokensSeen, double elapsedSeconds);
    /// <summary>One optimizer step of the recipe.</summary>
    protected abstract TStep TrainStep();
    /// <summary>The recipe's own numbers for the step's "train" line, and the step's model FLOPs.</summary>
    protected abstract (Dictionary<string, double> Values, double Flops) Measure(TStep step);
    /// <summary>The recipe's evaluation as an "eval" line, or null when it has nothing to evaluate on.</summary>
    protected abstract MetricsRecord? Evaluate(TState state);
    /// <summary>Writes the recipe's files (weights, optimizer state, ...) into a checkpoint folder being written.</summary>
    protected abstract void SaveTo(string checkpointDir);

    /// <summary>A new run: refuses a folder that holds a checkpoint and drops metrics no checkpoint stands behind.</summary>
    protected void StartFresh()
    {
        if (AtomicFolder.Find(Path.Combine(RunDirectory, CheckpointDirName)) is not null)
            throw new TrainingException($"{RunDirectory} already holds a checkpoint: resume it, or start the new run in another folder");
        if (File.Exists(metrics.Path)) File.Delete(metrics.Path);
    }

    /// <summary>The checkpoint to resume and its state, once its options and data are this run's.</summary>
    protected (string Dir, TState State) OpenCheckpoint()
    {
        string dir = RequireCheckpoint(RunDirectory);
        if (!ReadOptionsIn(dir).SameTrajectory(Options))
            throw new TrainingException($"{dir}: the run was started with different training options; resume with the same ones");
        var state = JsonSerializer.Deserialize<TState>(File.ReadAllText(Path.Combine(dir, StateFileName)), StateJson)
            ?? throw new TrainingException($"{dir}/{StateFileName} is empty");
        if (state.DataHash != DataHash)
            throw new TrainingException($"{dir}: the training data changed since the checkpoint (hash {Short(state.DataHash)} vs {Short(DataHash)})");
        return (dir, state);
    }

    /// <summary>Continues the counters of a checkpoint the recipe has loaded.</summary>
    protected void ContinueFrom(TState state)
    {
        tokensSeen = state.TokensSeen;
        elapsedBefore = state.ElapsedSeconds;
        metrics.TruncateAfter(state.Step);
    }

    protected static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    /// <summary>Trains until TotalSteps, <paramref name="stopAtStep"/> or <paramref name="maxDuration"/>, evaluating
    /// every EvalEverySteps and at TotalSteps, then writes a checkpoint. Returns the final state.</summary>
    public virtual TState Run(int? stopAtStep = null, TimeSpan? maxDuration = null, CancellationToken cancel = default)
    {
        int lastStep = Math.Min(Options.TotalSteps, stopAtStep ?? int.MaxValue);
        var clock = Stopwatch.StartNew();
        var sinceCheckpoint = Stopwatch.StartNew();
        while (Step < lastStep && !cancel.IsCancellationRequested && (maxDuration is null || clock.Elapsed < maxDuration))
        {
            var step = TrainStep();
            tokensSeen += step.Tokens;
            var state = State(clock.Elapsed.TotalSeconds);
            var (values, flops) = Measure(step);
            metrics.Append(new MetricsRecord("train", step.Step, tokensSeen, state.ElapsedSeconds, step.Loss, step.LearningRate, step.GradNorm,
                step.Tokens / step.Seconds, MetricsRecord.WithThroughput(values, flops, step.Seconds, PeakFlopsPerSecond)));
            StepCompleted?.Invoke(step, state);
            if (step.Step % Options.EvalEverySteps == 0 || step.Step == Options.TotalSteps) RecordEvaluation(state);
            if (sinceCheckpoint.Elapsed.TotalMinutes >= Options.CheckpointMinutes)
            {
                SaveCheckpoint(State(clock.Elapsed.TotalSeconds));
                sinceCheckpoint.Restart();
            }
        }
        var final = State(clock.Elapsed.TotalSeconds);
        SaveCheckpoint(final);
        return final;
    }

    /// <summary>Runs the recipe's evaluation at <paramref name="state"/> into metrics.jsonl.</summary>
    protected void RecordEvaluation(TState state)
    {
        if (Evaluate(state) is not { } line) return;
        metrics.Append(line);
        Evaluated?.Invoke(line);
    }

    /// <summary>Writes RUN/checkpoint atomically (a failure leaves the previous checkpoint intact).</summary>
    public void SaveCheckpoint(TState state)
    {
        AtomicFolder.Write(Path.Combine(RunDirectory, CheckpointDirName), dir =>
        {
            SaveTo(dir);
            File.WriteAllText(Path.Combine(dir, OptionsFileName), Options.ToJson());
            File.WriteAllText(Path.Combine(dir, StateFileName), JsonSerializer.Serialize(state, StateJson));
        });
        CheckpointWritten?.Invoke(RunDirectory);
    }

    /// <summary>The options saved in a run's checkpoint (a resumed run must use them).</summary>
    public static TOptions ReadCheckpointOptions(string runDir) => ReadOptionsIn(RequireCheckpoint(runDir));

    /// <summary>The options saved in a checkpoint folder already found (options.json).</summary>
    public static TOptions ReadOptionsIn(string checkpointDir) => TOptions.FromJson(File.ReadAllText(Path.Combine(checkpointDir, OptionsFileName)));

    /// <summary>RUN/checkpoint as <see cref="AtomicFolder.Find"/> finds it, or the refusal to resume without one.</summary>
    public static string RequireCheckpoint(string runDir) =>
        AtomicFolder.Find(Path.Combine(runDir, CheckpointDirName))
        ?? throw new TrainingException($"{runDir}: no checkpoint to resume from (expected {CheckpointDirName}/)");

    public abstract void Dispose();
}
