using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>Where a compressor run stands, saved as state.json in each checkpoint.</summary>
/// <param name="TrainSeconds">wall clock spent in training steps only (probes and checkpoints excluded).</param>
/// <param name="BaseModelId">fingerprint of the frozen base model the compressor was trained on.</param>
public sealed record CompressorRunState(int Step, long TokensSeen, double ElapsedSeconds, double TrainSeconds, string DataHash, string BaseModelId)
    : ITrainingRunState;

/// <summary>
/// The recipe of `pic train-compressor` in <see cref="TrainingRun{TOptions, TState, TStep}"/>: steps of
/// <see cref="CompressorTrainer"/>, and a probe at step 0 (the starting point of every curve) and at each evaluation.
/// Its checkpoint is a compressor folder (adapter_config.json, adapter_model.safetensors, compressor.json,
/// compressor.safetensors) plus optimizer.safetensors, so `--from RUN/checkpoint` and `pic eval-lm --compressor
/// RUN/checkpoint` open it as they open any compressor. A resume must also bring the checkpoint's base model.
/// </summary>
public sealed class CompressorRun : TrainingRun<CompressorTrainingOptions, CompressorRunState, CompressorStep>
{
    readonly CompressorBatches batches;
    readonly CompressorProbe probe;
    readonly string baseModelId;
    readonly CompressorTrainer trainer;
    double trainSecondsBefore, trainSeconds; // earlier invocations (resume) / this one

    /// <summary>Recorded in the adapter's base_model_name_or_path.</summary>
    public string? BaseModelName { get; init; }

    /// <param name="baseModel">the frozen base; it receives the LoRA layers, so it must have none.</param>
    /// <param name="from">a compressor folder to start from (its options must equal options.Compressor).</param>
    /// <param name="resume">continue from RUN/checkpoint (error if absent); else start at step 0.</param>
    public CompressorRun(string runDir, LlamaForCausalLM baseModel, CompressorTrainingOptions options, ICompressorExampleSource source,
        CompressorProbe probe, string dataHash, bool resume, string? from = null)
        : base(runDir, options, dataHash)
    {
        options.Validate();
        this.probe = probe;
        batches = new CompressorBatches(source, options.Seed);
        baseModelId = ModelFolder.Fingerprint(baseModel);
        if (!resume)
        {
            StartFresh();
            trainer = new CompressorTrainer(from is null ? new Compressor(baseModel, options.Compressor, (ulong)options.Seed, options.MemoryInit) : LoadFrom(baseModel, from), options);
            return;
        }
        var (dir, state) = OpenCheckpoint();
        if (state.BaseModelId != baseModelId)
            throw new TrainingException($"{dir}: the checkpoint was trained on another base model or in another compute dtype (id {Short(state.BaseModelId)}, this one {Short(baseModelId)})");
        trainer = new CompressorTrainer(CompressorFolder.Load(baseModel, dir), options);
        trainer.LoadOptimizer(dir, state.Step);
        trainSecondsBefore = state.TrainSeconds;
        ContinueFrom(state);
    }

    Compressor LoadFrom(LlamaForCausalLM baseModel, string from)
    {
        var compressor = CompressorFolder.Load(baseModel, from);
        if (SameShape(compressor.Options, Options.Compressor)) return compressor;
        compressor.Dispose();
        throw new TrainingException($"{from}: the compressor's options differ from the run's; continue with the folder's options");
    }

    static bool SameShape(CompressorOptions a, CompressorOptions b) =>
        (new CompressorTrainingOptions { Compressor = a }).ToJson() == (new CompressorTrainingOptions { Compressor = b }).ToJson();

    public override int Step => trainer.Step;
    public Compressor Compressor => trainer.Compressor;

    protected override CompressorRunState NewState(long tokensSeen, double elapsedSeconds) =>
        new(trainer.Step, tokensSeen, elapsedSeconds, trainSecondsBefore + trainSeconds, DataHash, baseModelId);

    protected override CompressorStep TrainStep()
    {
        var step = trainer.TrainStep(batches);
        trainSeconds += step.Seconds;
        return step;
    }

    protected override (Dictionary<string, double> Values, double Flops) Measure(CompressorStep step) => (new() { ["accuracy"] = step.Accuracy }, step.Flops);

    public override CompressorRunState Run(int? stopAtStep = null, TimeSpan? maxDuration = null, CancellationToken cancel = default)
    {
        if (trainer.Step == 0 && !Metrics.Any(m => m.Kind == "eval")) RecordEvaluation(State(0)); // the starting point of every curve
        return base.Run(stopAtStep, maxDuration, cancel);
    }

    protected override MetricsRecord? Evaluate(CompressorRunState state)
    {
        if (probe.HeldOut.Count == 0 && !probe.Answers) return null;
        var (score, em, f1) = probe.Run(trainer);
        var values = new Dictionary<string, double> { ["accuracy"] = score.Accuracy, ["train_s"] = Math.Round(state.TrainSeconds, 3) };
        if (em is double exact) values["exact_match"] = exact;
        if (f1 is double f) values["f1"] = f;
        return new MetricsRecord("eval", state.Step, state.TokensSeen, state.ElapsedSeconds, score.Loss, Values: values);
    }

    protected override void SaveTo(string checkpointDir) => trainer.Save(checkpointDir, BaseModelName);

    public override void Dispose() => trainer.Dispose();
}
