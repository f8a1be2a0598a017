using PicSharp.Storage;
using PicSharp.Modeling;

namespace PicSharp.Training;

/// <summary>Where a run stands, saved as state.json in each checkpoint.</summary>
public sealed record RunState(int Step, long TokensSeen, double ElapsedSeconds, string DataHash) : ITrainingRunState;

/// <summary>
/// The pretraining recipe in <see cref="TrainingRun{TOptions, TState, TStep}"/>: next-token steps of
/// <see cref="LmTrainer"/>, and at each evaluation the held-out loss and, with memory episodes, the memory probe.
/// Its checkpoint is a model folder (config.json, model.safetensors, tokenizer.json) plus optimizer.safetensors.
/// </summary>
public sealed class PretrainRun : TrainingRun<TrainingOptions, RunState, StepResult>
{
    readonly BatchSampler sampler;
    readonly IReadOnlyList<MicroBatch> validation;
    readonly LmTrainer trainer;

    /// <param name="model">fp32 model; its weights are replaced by the checkpoint's when resuming.</param>
    /// <param name="resume">continue from RUN/checkpoint (error if absent); else start at step 0.</param>
    /// <param name="episodes">builds the memory episodes when the options ask for them (see <see cref="LmTrainer"/>).</param>
    public PretrainRun(string runDir, LlamaForCausalLM model, TrainingOptions options, BatchSampler sampler,
        IReadOnlyList<MicroBatch> validation, string dataHash, bool resume, Func<LlamaForCausalLM, MemoryEpisodes>? episodes = null)
        : base(runDir, options, dataHash)
    {
        this.sampler = sampler;
        this.validation = validation;
        trainer = new LmTrainer(model, options, episodes);
        if (!resume)
        {
            StartFresh();
            return;
        }
        var (dir, state) = OpenCheckpoint();
        trainer.Load(dir, state.Step);
        ContinueFrom(state);
    }

    /// <summary>A tokenizer.json copied into every checkpoint, which makes the checkpoint a complete model folder
    /// that the evaluation and generation commands can open while training goes on.</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Held-out windows and questions the memory probe reads at each evaluation (runs with memory episodes).</summary>
    public (IReadOnlyList<int[]> Windows, IReadOnlyList<CompressorTraining.CompressorExample> Questions) MemoryProbe { get; init; } = ([], []);
    /// <summary>Model FLOPs of one optimizer step: forward and backward over every sequence of it, causal attention
    /// over the whole sequence (<see cref="ModelFlops.ForwardBackward"/>).</summary>
    public double FlopsPerStep => ModelFlops.ForwardBackward(trainer.Model.Config, (long)Options.MicroBatchSize * Options.GradientAccumulation, Options.SequenceLength);

    public override int Step => trainer.Step;
    public LlamaForCausalLM Model => trainer.Model;
    public MemoryEpisodes? Episodes => trainer.Episodes;

    protected override RunState NewState(long tokensSeen, double elapsedSeconds) => new(trainer.Step, tokensSeen, elapsedSeconds, DataHash);

    protected override StepResult TrainStep() => trainer.TrainStep(sampler);

    protected override (Dictionary<string, double> Values, double Flops) Measure(StepResult step) =>
        (new Dictionary<string, double>(step.Values ?? new Dictionary<string, double>()), FlopsPerStep);

    protected override MetricsRecord? Evaluate(RunState state)
    {
        if (validation.Count == 0) return null;
        var probe = trainer.ProbeMemory(MemoryProbe.Windows, MemoryProbe.Questions);
        return new MetricsRecord("eval", state.Step, state.TokensSeen, state.ElapsedSeconds, trainer.EvaluateLoss(validation), Values: probe.Count == 0 ? null : probe);
    }

    protected override void SaveTo(string checkpointDir)
    {
        trainer.Save(checkpointDir);
        if (TokenizerPath is not null) ModelFolder.CopyTokenizer(TokenizerPath, checkpointDir);
    }

    /// <summary>The model config saved in a run's checkpoint.</summary>
    public static LlamaConfig ReadCheckpointConfig(string runDir) =>
        LlamaConfig.Load(Path.Combine(RequireCheckpoint(runDir), "config.json"));

    public override void Dispose() => trainer.Dispose();
}
