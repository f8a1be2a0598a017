using System.Text.Json;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Training;
using TorchSharp;

namespace PicSharp.CompressorTraining;

/// <summary>Where a compressor run stands, saved as state.json in each checkpoint.</summary>
/// <param name="TrainSeconds">wall clock spent in training steps only (probes and checkpoints excluded).</param>
/// <param name="BaseModelId">fingerprint of the frozen base model the compressor was trained on.</param>
public sealed record CompressorRunState(int Step, long TokensSeen, double ElapsedSeconds, double TrainSeconds, string DataHash, string BaseModelId);

/// <summary>
/// The loop of `pic train-compressor` around <see cref="CompressorTrainer"/>: metrics.jsonl (a "train" line per step,
/// an "eval" line per probe, each with the wall clock), a probe every EvalEverySteps and at the end, a checkpoint every
/// CheckpointMinutes and at the end, and a clean stop at a step limit, a time limit or cancellation.
/// Run folder: metrics.jsonl and checkpoint/, which is a compressor folder (adapter_config.json,
/// adapter_model.safetensors, compressor.json, compressor.safetensors) plus optimizer.safetensors, options.json, state.json —
/// so `--from RUN/checkpoint` and `pic eval-lm --compressor RUN/checkpoint` open it as they open any compressor.
/// </summary>
public sealed class CompressorRun : IDisposable
{
    public const string CheckpointDirName = "checkpoint";
    public const string MetricsFileName = "metrics.jsonl";
    public const string OptionsFileName = "options.json";
    public const string StateFileName = "state.json";

    readonly string runDir;
    readonly CompressorTrainingOptions options;
    readonly CompressorBatches batches;
    readonly CompressorProbe probe;
    readonly string dataHash, baseModelId;
    readonly CompressorTrainer trainer;
    readonly MetricsLog metrics;
    long tokensSeen;
    double elapsedBefore, trainSecondsBefore, trainSeconds; // earlier invocations (resume) / this one

    public event Action<CompressorStep, CompressorRunState>? StepCompleted;
    public event Action<ProbeResult>? Probed;
    /// <summary>Raised after each checkpoint is in place, with the run folder (e.g. to redraw the loss curve).</summary>
    public event Action<string>? CheckpointWritten;

    /// <summary>Recorded in the adapter's base_model_name_or_path.</summary>
    public string? BaseModelName { get; init; }
    /// <summary>The machine's matmul FLOP/s in the model's dtype; when known, each step's model-FLOP utilisation
    /// (<see cref="CompressorStep.FlopsPerSecond"/> ÷ this) is recorded as `mfu`.</summary>
    public double? PeakFlopsPerSecond { get; init; }

    /// <param name="baseModel">the frozen base; it receives the LoRA layers, so it must have none.</param>
    /// <param name="from">a compressor folder to start from (its options must equal options.Compressor).</param>
    /// <param name="resume">continue from RUN/checkpoint (error if absent); else start at step 0.</param>
    public CompressorRun(string runDir, LlamaForCausalLM baseModel, CompressorTrainingOptions options, ICompressorExampleSource source,
        CompressorProbe probe, string dataHash, bool resume, string? from = null)
    {
        options.Validate();
        this.runDir = runDir;
        this.options = options;
        this.probe = probe;
        this.dataHash = dataHash;
        batches = new CompressorBatches(source, options.Seed);
        baseModelId = ModelFolder.Fingerprint(baseModel);
        Directory.CreateDirectory(runDir);
        metrics = new MetricsLog(Path.Combine(runDir, MetricsFileName));

        if (resume)
        {
            string dir = RequireCheckpoint(runDir);
            var state = CheckResumable(dir);
            trainer = new CompressorTrainer(CompressorFolder.Load(baseModel, dir), options);
            trainer.LoadOptimizer(dir, state.Step);
            tokensSeen = state.TokensSeen;
            elapsedBefore = state.ElapsedSeconds;
            trainSecondsBefore = state.TrainSeconds;
            metrics.TruncateAfter(state.Step);
            return;
        }
        if (AtomicFolder.Find(Path.Combine(runDir, CheckpointDirName)) is not null)
            throw new TrainingException($"{runDir} already holds a checkpoint: resume it, or start the new run in another folder");
        trainer = new CompressorTrainer(from is null ? new Compressor(baseModel, options.Compressor, (ulong)options.Seed, options.MemoryInit) : LoadFrom(baseModel, from), options);
        if (File.Exists(metrics.Path)) File.Delete(metrics.Path);
    }

    Compressor LoadFrom(LlamaForCausalLM baseModel, string from)
    {
        var compressor = CompressorFolder.Load(baseModel, from);
        if (SameShape(compressor.Options, options.Compressor)) return compressor;
        if (compressor.Options.DecoderLora is null && options.Compressor.DecoderLora is not null
            && SameShape(compressor.Options, options.Compressor with { DecoderLora = null }))
            return WithNewDecoderAdapter(baseModel, compressor);
        compressor.Dispose();
        throw new TrainingException($"{from}: the compressor's options differ from the run's; continue with the folder's options");
    }

    // A frozen-decoder compressor (say, pretrained as in the paper) continued with a decoder adapter (the deviation):
    // the compressor's LoRA and tokens as trained, the decoder adapter new (B = 0, so the start reads memory as before).
    Compressor WithNewDecoderAdapter(LlamaForCausalLM baseModel, Compressor trained)
    {
        using (trained)
        {
            var adapted = new Compressor(baseModel, options.Compressor, (ulong)options.Seed);
            using var _ = torch.no_grad();
            foreach (var (to, from) in adapted.AdapterParameters().Zip(trained.AdapterParameters())) to.Parameter.copy_(from.Parameter);
            adapted.MemoryTokens.copy_(trained.MemoryTokens);
            adapted.TaskTokens.copy_(trained.TaskTokens);
            return adapted;
        }
    }

    static bool SameShape(CompressorOptions a, CompressorOptions b) =>
        (new CompressorTrainingOptions { Compressor = a }).ToJson() == (new CompressorTrainingOptions { Compressor = b }).ToJson();

    public int Step => trainer.Step;
    public Compressor Compressor => trainer.Compressor;
    public string RunDirectory => runDir;
    public IReadOnlyList<MetricsRecord> Metrics => metrics.ReadAll();

    public CompressorRunState State(double elapsedThisRun) =>
        new(trainer.Step, tokensSeen, elapsedBefore + elapsedThisRun, trainSecondsBefore + trainSeconds, dataHash, baseModelId);

    /// <summary>Trains until TotalSteps, <paramref name="stopAtStep"/> or <paramref name="maxDuration"/>, probes at
    /// every EvalEverySteps and at TotalSteps, then writes a checkpoint. Returns the final state.</summary>
    public CompressorRunState Run(int? stopAtStep = null, TimeSpan? maxDuration = null, CancellationToken cancel = default)
    {
        if (trainer.Step == 0 && !Metrics.Any(m => m.Kind == "eval")) Probe(State(0)); // the starting point of every curve
        CompressorRunState final = State(0);
        TrainingLoop.Run(() => trainer.Step, Math.Min(options.TotalSteps, stopAtStep ?? int.MaxValue), maxDuration, cancel, options.CheckpointMinutes,
            trainStep: elapsed =>
            {
                var step = trainer.TrainStep(batches);
                tokensSeen += step.Tokens;
                trainSeconds += step.Seconds;
                var state = State(elapsed());
                metrics.Append(new MetricsRecord("train", step.Step, tokensSeen, state.ElapsedSeconds, step.Loss, step.LearningRate, step.GradNorm,
                    step.Tokens / step.Seconds, MetricsRecord.WithThroughput(new() { ["accuracy"] = step.Accuracy }, step.Flops, step.Seconds, PeakFlopsPerSecond)));
                StepCompleted?.Invoke(step, state);
                if (step.Step % options.EvalEverySteps == 0 || step.Step == options.TotalSteps) Probe(state);
            },
            saveCheckpoint: elapsed => SaveCheckpoint(final = State(elapsed())));
        return final;
    }

    void Probe(CompressorRunState state)
    {
        if (probe.HeldOut.Count == 0 && !probe.Answers) return;
        var (score, em, f1) = probe.Run(trainer);
        var result = new ProbeResult(state.Step, state.TokensSeen, state.ElapsedSeconds, state.TrainSeconds, score, em, f1);
        var values = new Dictionary<string, double> { ["accuracy"] = score.Accuracy, ["train_s"] = Math.Round(state.TrainSeconds, 3) };
        if (em is double exact) values["exact_match"] = exact;
        if (f1 is double f) values["f1"] = f;
        metrics.Append(new MetricsRecord("eval", state.Step, state.TokensSeen, state.ElapsedSeconds, score.Loss, Values: values));
        Probed?.Invoke(result);
    }

    static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes RUN/checkpoint atomically (a failure leaves the previous checkpoint intact).</summary>
    public void SaveCheckpoint(CompressorRunState state)
    {
        AtomicFolder.Write(Path.Combine(runDir, CheckpointDirName), dir =>
        {
            trainer.Save(dir, BaseModelName);
            File.WriteAllText(Path.Combine(dir, OptionsFileName), options.ToJson());
            File.WriteAllText(Path.Combine(dir, StateFileName), JsonSerializer.Serialize(state, StateJson));
        });
        CheckpointWritten?.Invoke(runDir);
    }

    /// <summary>The options saved in a run's checkpoint (a resumed run must use them).</summary>
    public static CompressorTrainingOptions ReadCheckpointOptions(string runDir) => ReadOptionsIn(RequireCheckpoint(runDir));

    /// <summary>The options saved in a checkpoint folder already found (options.json).</summary>
    public static CompressorTrainingOptions ReadOptionsIn(string checkpointDir) =>
        CompressorTrainingOptions.FromJson(File.ReadAllText(Path.Combine(checkpointDir, OptionsFileName)));

    static string RequireCheckpoint(string runDir) =>
        AtomicFolder.Find(Path.Combine(runDir, CheckpointDirName))
        ?? throw new TrainingException($"{runDir}: no checkpoint to resume from (expected {CheckpointDirName}/)");

    CompressorRunState CheckResumable(string dir)
    {
        var saved = ReadOptionsIn(dir);
        if (!saved.SameTrajectory(options))
            throw new TrainingException($"{dir}: the run was started with different training options; resume with the same ones");
        var state = JsonSerializer.Deserialize<CompressorRunState>(File.ReadAllText(Path.Combine(dir, StateFileName)), StateJson)
            ?? throw new TrainingException($"{dir}/{StateFileName} is empty");
        if (state.DataHash != dataHash)
            throw new TrainingException($"{dir}: the training data changed since the checkpoint (hash {Short(state.DataHash)} vs {Short(dataHash)})");
        if (state.BaseModelId != baseModelId)
            throw new TrainingException($"{dir}: the checkpoint was trained on another base model or in another compute dtype, --dtype (id {Short(state.BaseModelId)}, this one {Short(baseModelId)})");
        return state;
    }

    static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    public void Dispose() => trainer.Dispose();
}
