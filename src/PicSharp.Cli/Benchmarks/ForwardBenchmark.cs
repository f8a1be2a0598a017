using PicSharp.Modeling;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Cli.Benchmarks;

public sealed record ForwardBenchmarkOptions(int PromptLength, int DecodeTokens, int TrainBatch, int TrainLength, RunPlan Plan);

/// <summary>One workload's throughput and its model-FLOP utilisation against the matmul peak of the same dtype.</summary>
public sealed record WorkloadResult(string Workload, string Dtype, long Tokens, Timing Timing, double Flops, double PeakGigaFlops)
{
    public double TokensPerSecond => Tokens / Timing.Median;
    public double GigaFlopsPerSecond => Flops / Timing.Median / 1e9;
    public double Utilisation => GigaFlopsPerSecond / PeakGigaFlops;
}

/// <summary>Prompt processing, KV-cache decoding and training steps of the reference model in one dtype.</summary>
public static class ForwardBenchmark
{
    public static IEnumerable<WorkloadResult> Run(ScalarType dtype, double peakGigaFlops, ForwardBenchmarkOptions options)
    {
        var config = BenchmarkModels.Reference;
        string name = ModelFolder.TorchDtypeName(dtype);
        using var model = BenchmarkModels.Create(dtype);

        model.eval();
        yield return new WorkloadResult($"prompt {options.PromptLength}", name, options.PromptLength,
            Prefill(model, options), ModelFlops.Forward(config, 1, options.PromptLength), peakGigaFlops);

        double decodeFlops = Enumerable.Range(0, options.DecodeTokens)
            .Sum(i => ModelFlops.Forward(config, 1, 1, past: options.PromptLength + i));
        yield return new WorkloadResult($"decode {options.DecodeTokens} after {options.PromptLength}", name, options.DecodeTokens,
            Decode(model, options), decodeFlops, peakGigaFlops);

        model.train();
        yield return new WorkloadResult($"train fwd+bwd {options.TrainBatch}x{options.TrainLength}", name,
            (long)options.TrainBatch * options.TrainLength, TrainStep(model, options),
            ModelFlops.ForwardBackward(config, options.TrainBatch, options.TrainLength), peakGigaFlops);
    }

    /// <summary>One forward over the prompt with logits on every position (what a scoring pass computes).</summary>
    static Timing Prefill(LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        using var tokens = BenchmarkModels.RandomTokens(1, options.PromptLength);
        return options.Plan.Measure(() =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.Logits(model.ForwardTokens(tokens));
        });
    }

    /// <summary>Greedy decoding one token at a time after a cached prompt; the prompt's forward is not timed.</summary>
    static Timing Decode(LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        using var prompt = BenchmarkModels.RandomTokens(1, options.PromptLength);
        KvCache? cache = null;
        long next = 0;
        void FillCache()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            cache?.Dispose();
            cache = new KvCache(model.Config.NumHiddenLayers);
            next = model.Logits(model.ForwardTokens(prompt, cache: cache)[.., -1]).argmax(-1).item<long>();
        }
        var timing = options.Plan.Measure(() =>
        {
            using var _ = no_grad();
            for (int i = 0; i < options.DecodeTokens; i++)
            {
                using var scope = NewDisposeScope();
                var hidden = model.ForwardTokens(tensor(new[] { next }).unsqueeze(0), cache: cache);
                next = model.Logits(hidden[.., -1]).argmax(-1).item<long>();
            }
        }, setup: FillCache);
        cache?.Dispose();
        return timing;
    }

    /// <summary>Next-token loss, backward through every weight (all in the model's dtype), gradients dropped after.</summary>
    static Timing TrainStep(LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        using var tokens = BenchmarkModels.RandomTokens(options.TrainBatch, options.TrainLength + 1);
        using var inputs = tokens[.., ..^1].contiguous();
        using var targets = tokens[.., 1..].contiguous();
        return options.Plan.Measure(() =>
        {
            using var scope = NewDisposeScope();
            var logits = model.Logits(model.ForwardTokens(inputs));
            var loss = F.cross_entropy(logits.flatten(0, 1).to(ScalarType.Float32), targets.flatten());
            loss.backward();
            model.zero_grad();
        });
    }
}
