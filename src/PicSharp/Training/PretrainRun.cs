using System.Text.Json;
using PicSharp.Storage;
using PicSharp.Modeling;

namespace PicSharp.Training;

/// <summary>Where a run stands, saved as state.json in each checkpoint.</summary>
public sealed record RunState(int Step, long TokensSeen, double ElapsedSeconds, string DataHash);

/// <summary>
/// The pretraining loop around <see cref="LmTrainer"/>: metrics.jsonl, evaluation every EvalEverySteps, a checkpoint
/// every CheckpointMinutes and at the end, and a clean stop at a step limit or a wall-clock limit.
/// Run folder: metrics.jsonl, checkpoint/ (config.json, model.safetensors, optimizer.safetensors, options.json, state.json).
/// </summary>
public sealed class PretrainRun : IDisposable
{
    public const string CheckpointDirName = "checkpoint";
    public const string MetricsFileName = "metrics.jsonl";

    readonly string runDir;
    readonly TrainingOptions options;
    readonly BatchSampler sampler;
    readonly IReadOnlyList<MicroBatch> validation;
    readonly string dataHash;
    readonly LmTrainer trainer;
    readonly MetricsLog metrics;
    long tokensSeen;
    double elapsedBefore; // seconds of earlier invocations (resume)

    public event Action<StepResult, RunState>? StepCompleted;
    public event Action<EvalResult>? Evaluated;
    /// <summary>Raised after each checkpoint is in place, with the run folder (e.g. to redraw the loss curve).</summary>
    public event Action<string>? CheckpointWritten;

    /// <param name="model">fp32 model; its weights are replaced by the checkpoint's when resuming.</param>
    /// <param name="resume">continue from RUN/checkpoint (error if absent); else start at step 0.</param>
    /// <param name="episodes">builds the memory episodes when the options ask for them (see <see cref="LmTrainer"/>).</param>
    public PretrainRun(string runDir, LlamaForCausalLM model, TrainingOptions options, BatchSampler sampler,
        IReadOnlyList<MicroBatch> validation, string dataHash, bool resume, Func<LlamaForCausalLM, MemoryEpisodes>? episodes = null)
    {
        this.runDir = runDir;
        this.options = options;
        this.sampler = sampler;
        this.validation = validation;
        this.dataHash = dataHash;
        Directory.CreateDirectory(runDir);
        trainer = new LmTrainer(model, options, episodes);
        metrics = new MetricsLog(Path.Combine(runDir, MetricsFileName));
        if (resume) Restore();
        else if (AtomicFolder.Find(Path.Combine(runDir, CheckpointDirName)) is not null)
            throw new TrainingException($"{runDir} already holds a checkpoint: resume it, or start the new run in another folder");
        else if (File.Exists(metrics.Path)) File.Delete(metrics.Path);
    }

    /// <summary>A tokenizer.json copied into every checkpoint, which makes the checkpoint a complete model folder
    /// that the evaluation and generation commands can open while training goes on.</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Held-out windows and questions the memory probe reads at each evaluation (runs with memory episodes).</summary>
    public (IReadOnlyList<int[]> Windows, IReadOnlyList<CompressorTraining.CompressorExample> Questions) MemoryProbe { get; init; } = ([], []);
    /// <summary>The machine's matmul FLOP/s in the compute dtype; when known, each step's model-FLOP utilisation is recorded as `mfu`.</summary>
    public double? PeakFlopsPerSecond { get; init; }
    /// <summary>Model FLOPs of one optimizer step: forward and backward over every sequence of it, causal attention
    /// over the whole sequence (<see cref="ModelFlops.ForwardBackward"/>).</summary>
    public double FlopsPerStep => ModelFlops.ForwardBackward(trainer.Model.Config, (long)options.MicroBatchSize * options.GradientAccumulation, options.SequenceLength);

    public int Step => trainer.Step;
    public LlamaForCausalLM Model => trainer.Model;
    public MemoryEpisodes? Episodes => trainer.Episodes;
    public string RunDirectory => runDir;
    public IReadOnlyList<MetricsRecord> Metrics => metrics.ReadAll();
    public RunState State(double elapsedThisRun) => new(trainer.Step, tokensSeen, elapsedBefore + elapsedThisRun, dataHash);

    /// <summary>Trains until TotalSteps, <paramref name="stopAtStep"/> or <paramref name="maxDuration"/>,
    /// then writes a checkpoint. Returns the final state.</summary>
    public RunState Run(int? stopAtStep = null, TimeSpan? maxDuration = null, CancellationToken cancel = default)
    {
        RunState final = State(0);
        TrainingLoop.Run(() => trainer.Step, Math.Min(options.TotalSteps, stopAtStep ?? int.MaxValue), maxDuration, cancel, options.CheckpointMinutes,
            trainStep: elapsed =>
            {
                var result = trainer.TrainStep(sampler);
                tokensSeen += result.Tokens;
                var state = State(elapsed());
                metrics.Append(new MetricsRecord("train", result.Step, tokensSeen, state.ElapsedSeconds, result.Loss, result.LearningRate, result.GradNorm,
                    result.Tokens / result.Seconds, MetricsRecord.WithThroughput(new Dictionary<string, double>(result.Values ?? new Dictionary<string, double>()),
                        FlopsPerStep, result.Seconds, PeakFlopsPerSecond)));
                StepCompleted?.Invoke(result, state);
                if (result.Step % options.EvalEverySteps == 0 || result.Step == options.TotalSteps) Evaluate(state);
            },
            saveCheckpoint: elapsed => SaveCheckpoint(final = State(elapsed())));
        return final;
    }

    void Evaluate(RunState state)
    {
        if (validation.Count == 0) return;
        var probe = trainer.ProbeMemory(MemoryProbe.Windows, MemoryProbe.Questions);
        var eval = new EvalResult(state.Step, state.TokensSeen, trainer.EvaluateLoss(validation), probe);
        metrics.Append(new MetricsRecord("eval", eval.Step, eval.TokensSeen, state.ElapsedSeconds, eval.Loss, Values: probe.Count == 0 ? null : probe));
        Evaluated?.Invoke(eval);
    }

    static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes RUN/checkpoint atomically (a failure leaves the previous checkpoint intact).</summary>
    public void SaveCheckpoint(RunState state)
    {
        AtomicFolder.Write(Path.Combine(runDir, CheckpointDirName), dir =>
        {
            trainer.Save(dir);
            File.WriteAllText(Path.Combine(dir, "options.json"), options.ToJson());
            File.WriteAllText(Path.Combine(dir, "state.json"), JsonSerializer.Serialize(state, StateJson));
            if (TokenizerPath is not null) ModelFolder.CopyTokenizer(TokenizerPath, dir);
        });
        CheckpointWritten?.Invoke(runDir);
    }

    /// <summary>The options saved in a run's checkpoint (a resumed run must use them).</summary>
    public static TrainingOptions ReadCheckpointOptions(string runDir) =>
        TrainingOptions.FromJson(File.ReadAllText(Path.Combine(RequireCheckpoint(runDir), "options.json")));

    /// <summary>The model config saved in a run's checkpoint.</summary>
    public static LlamaConfig ReadCheckpointConfig(string runDir) =>
        LlamaConfig.Load(Path.Combine(RequireCheckpoint(runDir), "config.json"));

    static string RequireCheckpoint(string runDir) =>
        AtomicFolder.Find(Path.Combine(runDir, CheckpointDirName))
        ?? throw new TrainingException($"{runDir}: no checkpoint to resume from (expected {CheckpointDirName}/)");

    void Restore()
    {
        string dir = RequireCheckpoint(runDir);
        var saved = TrainingOptions.FromJson(File.ReadAllText(Path.Combine(dir, "options.json")));
        if (!saved.SameTrajectory(options))
            throw new TrainingException($"{dir}: the run was started with different training options; resume with the same ones");
        var state = JsonSerializer.Deserialize<RunState>(File.ReadAllText(Path.Combine(dir, "state.json")), StateJson)
            ?? throw new TrainingException($"{dir}/state.json is empty");
        if (state.DataHash != dataHash)
            throw new TrainingException($"{dir}: the training data changed since the checkpoint (hash {state.DataHash[..12]}… vs {dataHash[..12]}…)");
        trainer.Load(dir, state.Step);
        tokensSeen = state.TokensSeen;
        elapsedBefore = state.ElapsedSeconds;
        metrics.TruncateAfter(state.Step);
    }

    public void Dispose() => trainer.Dispose();
}
