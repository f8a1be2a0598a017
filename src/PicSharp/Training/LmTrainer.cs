
using PicSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Training;

/// <summary>What one optimizer step did. Loss is the next-token loss; Values holds what memory episodes add
/// (`memory_loss`, `memory_acc`) when the run has them.</summary>
public sealed record StepResult(int Step, double Loss, double LearningRate, double GradNorm, long Tokens, double Seconds,
    IReadOnlyDictionary<string, double>? Values = null) : ITrainingStep;

/// <summary>
/// Next-token training of a causal LM: AdamW, gradient accumulation, clipping, the warmup + cosine schedule.
/// With bf16 the optimizer holds fp32 master weights while a bf16 copy runs forward and backward (TorchSharp has no
/// autocast): each step copies masters into the copy, and each micro-step adds its bf16 gradients into fp32 master
/// gradients, so accumulation, clipping and the update all happen in fp32.
/// With <see cref="TrainingOptions.MemoryEpisodes"/>, each micro-step also runs memory episodes on the compute model
/// and trains on (1 − w)·next-token loss + w·episode loss; the episodes' memory and task tokens are a third
/// parameter group (fp32, no decay).
/// </summary>
public sealed class LmTrainer : IDisposable
{
    readonly LlamaForCausalLM master;
    readonly LlamaForCausalLM compute; // == master for fp32
    readonly (Parameter Master, Parameter Compute)[] pairs;
    readonly AdamW optimizer;
    readonly TrainingOptions options;
    readonly MemoryEpisodes? episodes;
    readonly double[] peakRates;

    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }
    public LlamaForCausalLM Model => master;
    /// <summary>The memory episodes this trainer mixes in (null: plain next-token training).</summary>
    public MemoryEpisodes? Episodes => episodes;

    /// <param name="episodes">builds the memory episodes on the model that runs forward (the compute copy under bf16);
    /// required when the options ask for memory episodes.</param>
    public LmTrainer(LlamaForCausalLM model, TrainingOptions options, Func<LlamaForCausalLM, MemoryEpisodes>? episodes = null)
    {
        options.Validate();
        if (model.Dtype != ScalarType.Float32)
            throw new TrainingException($"the model to train must hold float32 weights (the master copy), got {ModelFolder.TorchDtypeName(model.Dtype)}");
        this.options = options;
        master = model;
        master.train();
        var trainable = master.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        if (options.UseBf16)
        {
            compute = new LlamaForCausalLM(master.Config);
            compute.to(ScalarType.BFloat16);
            compute.train();
            var computeParameters = compute.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            pairs = trainable.Select(p => (p.parameter, computeParameters[p.name])).ToArray();
            foreach (var (m, _) in pairs) m.grad = zeros_like(m).DetachFromDisposeScope();
        }
        else
        {
            compute = master;
            pairs = trainable.Select(p => (p.parameter, p.parameter)).ToArray();
        }
        if (options.MemoryEpisodes is not null)
        {
            // The compute copy holds the masters' weights before the episodes read it: new memory tokens take the
            // scale of its vocabulary.
            SyncComputeWeights();
            this.episodes = (episodes ?? throw new TrainingException("the options ask for memory episodes but no episode data was given"))(compute);
        }
        // Decay matrices and embeddings; leave norms and biases alone (they have no scale to shrink).
        var decay = trainable.Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToArray();
        var noDecay = trainable.Where(p => p.parameter.dim() < 2).Select(p => p.parameter).ToArray();
        List<AdamWGroup> groups = [new(decay, options.LearningRate, options.WeightDecay), new(noDecay, options.LearningRate, 0)];
        // Memory and task tokens are never decayed: shrinking them would move them off the scale the model reads.
        if (this.episodes is not null) groups.Add(new(this.episodes.Parameters.ToArray(), options.MemoryEpisodes!.LearningRate ?? options.LearningRate, 0));
        peakRates = groups.Select(g => g.LearningRate).ToArray();
        optimizer = new AdamW(groups, options.Beta1, options.Beta2);
    }

    public StepResult TrainStep(BatchSampler sampler)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        double lr = LearningRateSchedule.At(Step, options);
        // Every group follows one schedule, each from its own peak.
        for (int g = 0; g < optimizer.Groups.Count; g++) optimizer.Groups[g].LearningRate = lr * peakRates[g] / options.LearningRate;
        optimizer.ZeroGrad();
        // Only the arrangements a step draws may move: a zeroed gradient would let Adam's momentum carry the others
        // on, and whether a gradient exists would then depend on the process's history, which a resume does not have.
        foreach (var parameter in episodes?.Parameters ?? []) parameter.grad = null;
        SyncComputeWeights();

        double loss = 0, memoryLoss = 0;
        long tokens = 0, memoryCorrect = 0, memoryScored = 0;
        using var accumulation = options.GradientAccumulation.ToScalar();
        double weight = options.MemoryEpisodes?.Weight ?? 0;
        using var lmShare = (1 - weight).ToScalar();
        using var memoryShare = weight.ToScalar();
        for (int micro = 0; micro < options.GradientAccumulation; micro++)
        {
            using var scope = NewDisposeScope();
            var batch = sampler.Sample(Step, micro, options.MicroBatchSize);
            var microLoss = Loss(batch);
            var total = microLoss;
            if (episodes is not null)
            {
                var episode = episodes.Loss(Step, micro);
                total = microLoss.mul(lmShare).add(episode.Mean, memoryShare);
                memoryLoss += episode.Mean.item<float>() / options.GradientAccumulation;
                memoryCorrect += episode.Correct;
                memoryScored += episode.Tokens;
            }
            total.div(accumulation).backward();
            loss += microLoss.item<float>() / options.GradientAccumulation;
            tokens += (long)batch.BatchSize * batch.SequenceLength;
            if (options.UseBf16) MoveGradientsToMasters();
        }

        double gradNorm;
        using (var scope = NewDisposeScope())
            gradNorm = nn.utils.clip_grad_norm_(pairs.Select(p => p.Master).Concat(episodes?.Parameters ?? []), options.MaxGradNorm);
        optimizer.Step();
        Step++;
        var values = episodes is null ? null : new Dictionary<string, double> { ["memory_loss"] = memoryLoss, ["memory_acc"] = (double)memoryCorrect / memoryScored };
        return new StepResult(Step, loss, lr, gradNorm, tokens, watch.Elapsed.TotalSeconds, values);
    }

    /// <summary>How well the model reads its own memory (<see cref="MemoryEpisodes.Probe"/>); empty without episodes.</summary>
    public Dictionary<string, double> ProbeMemory(IReadOnlyList<int[]> windows, IReadOnlyList<CompressorTraining.CompressorExample> questions)
    {
        if (episodes is null) return [];
        SyncComputeWeights();
        compute.eval();
        try { return episodes.Probe(windows, questions, options.MemoryEpisodes!.EpisodesPerMicroBatch); }
        finally { compute.train(); }
    }

    /// <summary>Mean next-token loss over held-out batches (no gradients).</summary>
    public double EvaluateLoss(IReadOnlyList<MicroBatch> batches)
    {
        if (batches.Count == 0) return double.NaN;
        SyncComputeWeights();
        using var _ = no_grad();
        compute.eval();
        try
        {
            double sum = 0;
            long count = 0;
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                int tokens = batch.TargetTokens;
                sum += Loss(batch).item<float>() * tokens;
                count += tokens;
            }
            return sum / count;
        }
        finally { compute.train(); }
    }

    /// <summary>Mean cross-entropy over the batch's non-padding targets, computed on fp32 logits.</summary>
    Tensor Loss(MicroBatch batch)
    {
        var inputs = tensor(batch.Inputs, [batch.BatchSize, batch.SequenceLength]);
        var targets = tensor(batch.Targets, [batch.BatchSize * batch.SequenceLength]);
        var logits = compute.Logits(compute.ForwardTokens(inputs)).to(ScalarType.Float32);
        return F.cross_entropy(logits.view(-1, logits.shape[^1]), targets, ignore_index: BatchSampler.IgnoreIndex);
    }

    void SyncComputeWeights()
    {
        if (!options.UseBf16) return;
        using var _ = no_grad();
        foreach (var (m, c) in pairs) c.copy_(m);
    }

    void MoveGradientsToMasters()
    {
        using var _ = no_grad();
        foreach (var (m, c) in pairs)
        {
            if (c.grad is null) continue;
            m.grad!.add_(c.grad, TorchScalars.One);
            c.grad.zero_();
        }
    }

    /// <summary>Writes the fp32 master weights as an HF model folder (config.json, model.safetensors) and the
    /// optimizer state into <paramref name="dir"/>.</summary>
    public void Save(string dir)
    {
        ModelFolder.Save(master, dir);
        optimizer.Save(Path.Combine(dir, AdamW.FileName));
        episodes?.Save(dir);
    }

    /// <summary>Restores weights and optimizer state written by <see cref="Save"/> and the step count.</summary>
    public void Load(string dir, int step)
    {
        ModelFolder.LoadWeights(master, dir);
        optimizer.Load(Path.Combine(dir, AdamW.FileName));
        episodes?.Load(dir);
        Step = step;
    }

    public void Dispose()
    {
        optimizer.Dispose();
        episodes?.Dispose();
        if (!ReferenceEquals(compute, master)) compute.Dispose();
    }
}
