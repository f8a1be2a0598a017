using System.Diagnostics;
using PicSharp.Compression;
using PicSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using AdamW = PicSharp.Training.AdamW;
using static TorchSharp.torch;

namespace PicSharp.CompressorTraining;

/// <summary>What one optimizer step did; Tokens counts the text tokens of its examples (see CompressorExample.Tokens),
/// Flops its model FLOPs (<see cref="CompressorFlops"/>).</summary>
public sealed record CompressorStep(int Step, double Loss, double Accuracy, double LearningRate, double GradNorm, long Tokens, double Seconds, double Flops)
    : ITrainingStep
{
    public double FlopsPerSecond => Flops / Seconds;
}

/// <summary>
/// One optimizer step of a compressor: compress each micro-batch's contexts, score the frozen decoder on its targets,
/// backpropagate into the LoRA matrices and the memory and task embeddings (everything else is frozen and runs in its
/// stored dtype, so there is no master copy to keep), clip, and take an AdamW step. LoRA and the embeddings are two
/// parameter groups with their own peak rates on the same warmup + cosine schedule.
/// </summary>
public sealed class CompressorTrainer : IDisposable
{
    readonly MemoryDecoder decoder;
    readonly AdamW optimizer;
    readonly CompressorTrainingOptions options;
    readonly Parameter[] trainable;
    readonly CompressorFlops flops;

    public Compressor Compressor { get; }
    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }

    public CompressorTrainer(Compressor compressor, CompressorTrainingOptions options)
    {
        options.Validate();
        this.options = options;
        Compressor = compressor;
        decoder = new MemoryDecoder(compressor);
        flops = new CompressorFlops(compressor.Model.Config, compressor.Options);
        compressor.train();
        // Groups come from the named lists, never from Contains: tensors compare by value, and every zero B matrix
        // at the start equals every other of its shape.
        Parameter[] embeddings = [compressor.MemoryTokens, compressor.TaskTokens];
        trainable = [.. compressor.TrainableParameters()];
        var lora = compressor.AdapterParameters().Select(p => p.Parameter).ToArray();
        optimizer = new AdamW(
        [
            new(lora, options.LearningRate, options.WeightDecay),
            new(embeddings, options.MemoryLearningRate, 0),
        ], options.Beta1, options.Beta2);
    }

    double Rate(double peak) => LearningRateSchedule.At(Step, peak, options.MinLearningRateRatio, options.WarmupSteps, options.TotalSteps);

    public CompressorStep TrainStep(CompressorBatches batches)
    {
        var watch = Stopwatch.StartNew();
        var groups = optimizer.Groups;
        double lr = Rate(options.LearningRate);
        groups[0].LearningRate = lr;
        groups[1].LearningRate = Rate(options.MemoryLearningRate);
        optimizer.ZeroGrad();

        double loss = 0;
        long correct = 0, scored = 0, tokens = 0;
        var seen = new List<CompressorExample>();
        using var accumulation = options.GradientAccumulation.ToScalar();
        for (int micro = 0; micro < options.GradientAccumulation; micro++)
        {
            using var scope = NewDisposeScope();
            var examples = batches.Sample(Step, micro, options.MicroBatchSize);
            using var memory = Compressor.Compress(examples.Select(e => e.Context).ToList());
            var result = decoder.Loss(memory, examples.Select(e => e.Decoder).ToList());
            result.Mean.div(accumulation).backward();
            loss += result.Mean.item<float>() / options.GradientAccumulation;
            correct += result.Correct;
            scored += result.Tokens;
            tokens += examples.Sum(e => e.Tokens);
            seen.AddRange(examples);
        }

        double gradNorm;
        using (var scope = NewDisposeScope())
            gradNorm = nn.utils.clip_grad_norm_(trainable, options.MaxGradNorm);
        optimizer.Step();
        Step++;
        double seconds = watch.Elapsed.TotalSeconds; // the count below is bookkeeping, not training time
        return new CompressorStep(Step, loss, (double)correct / scored, lr, gradNorm, tokens, seconds, seen.Sum(flops.Example));
    }

    /// <summary>Teacher-forced loss (mean over target tokens) and token accuracy on held-out examples, no gradients.</summary>
    public DecoderScore Evaluate(IReadOnlyList<CompressorExample> examples)
    {
        Compressor.eval();
        try { return DecoderScore.Over(decoder, examples, options.MicroBatchSize, Compressor.Compress); }
        finally { Compressor.train(); }
    }

    /// <summary>Writes the compressor folder (PEFT adapter, compressor.json/safetensors) and the optimizer state.</summary>
    public void Save(string dir, string? baseModelNameOrPath)
    {
        CompressorFolder.Save(Compressor, dir, baseModelNameOrPath);
        optimizer.Save(Path.Combine(dir, AdamW.FileName));
    }

    /// <summary>Restores the optimizer state written by <see cref="Save"/> (the compressor was loaded from the same
    /// folder) and the step count.</summary>
    public void LoadOptimizer(string dir, int step)
    {
        optimizer.Load(Path.Combine(dir, AdamW.FileName));
        Step = step;
    }

    public void Dispose() => optimizer.Dispose();
}
