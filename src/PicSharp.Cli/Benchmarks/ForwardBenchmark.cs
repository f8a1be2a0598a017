using PicSharp.Answering;
using PicSharp.LlamaCpp;
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

/// <summary>
/// Prompt processing, KV-cache decoding and training steps of one model in one dtype. Under llama.cpp the prompt and
/// the decoding run on the model's GGUF export instead (llama.cpp does not train): the same token counts, timed the
/// same way, so the two engines' rows compare.
/// </summary>
public static class ForwardBenchmark
{
    public const string LlamaCppSuffix = " (llama.cpp)";

    /// <param name="llama">decodes the model on llama.cpp; null: TorchSharp runs every workload.</param>
    public static IEnumerable<WorkloadResult> Run(LlamaForCausalLM model, double peakGigaFlops, ForwardBenchmarkOptions options, LlamaCppAnswerer? llama = null)
    {
        var config = model.Config;
        string name = ModelFolder.TorchDtypeName(model.Dtype);
        string engine = llama is null ? "" : LlamaCppSuffix;
        int limit = options.PromptLength + options.DecodeTokens + 1;
        if (limit > config.MaxPositionEmbeddings)
            throw new InvalidInputException($"a {options.PromptLength}-token prompt and {options.DecodeTokens} decoded tokens need {limit} positions, the model has {config.MaxPositionEmbeddings}");

        model.eval();
        yield return new WorkloadResult($"prompt {options.PromptLength}{engine}", name, options.PromptLength,
            llama is null ? Prefill(model, options) : Prefill(llama, model, options), ModelFlops.Forward(config, 1, options.PromptLength), peakGigaFlops);

        double decodeFlops = Enumerable.Range(0, options.DecodeTokens)
            .Sum(i => ModelFlops.Forward(config, 1, 1, past: options.PromptLength + i));
        yield return new WorkloadResult($"decode {options.DecodeTokens} after {options.PromptLength}{engine}", name, options.DecodeTokens,
            llama is null ? Decode(model, options) : Decode(llama, model, options), decodeFlops, peakGigaFlops);
        if (llama is not null) yield break;

        model.train();
        yield return new WorkloadResult($"train fwd+bwd {options.TrainBatch}x{options.TrainLength}", name,
            (long)options.TrainBatch * options.TrainLength, TrainStep(model, options),
            ModelFlops.ForwardBackward(config, options.TrainBatch, options.TrainLength), peakGigaFlops);
    }

    static Tensor PromptTokens(LlamaForCausalLM model, ForwardBenchmarkOptions options) =>
        BenchmarkModels.RandomTokens(1, options.PromptLength, vocab: model.Config.VocabSize);

    static AnswerRequest PromptRequest(LlamaForCausalLM model, ForwardBenchmarkOptions options, int newTokens)
    {
        using var tokens = PromptTokens(model, options);
        return new AnswerRequest(tokens[0].data<long>().Select(t => (int)t).ToArray(), newTokens);
    }

    /// <summary>llama.cpp's prompt processing: the prompt in one call, logits of its last position (its first answer token).</summary>
    static Timing Prefill(LlamaCppAnswerer llama, LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        var prompt = PromptRequest(model, options, 1);
        return options.Plan.Measure(() => llama.Generate([prompt], new GenerationOptions { MaxNewTokens = 1 }));
    }

    /// <summary>llama.cpp's greedy decoding after the prompt: from the first chosen token to the last, the prompt's call untimed.</summary>
    static Timing Decode(LlamaCppAnswerer llama, LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        var prompt = PromptRequest(model, options, options.DecodeTokens + 1);
        var decoding = new List<double>();
        var watch = new System.Diagnostics.Stopwatch();
        var total = options.Plan.Measure(() =>
        {
            int chosen = 0;
            llama.Generate([prompt], new GenerationOptions { MaxNewTokens = options.DecodeTokens + 1 }, onToken: (_, _) =>
            {
                if (chosen++ == 0) watch.Restart();
            });
            decoding.Add(watch.Elapsed.TotalSeconds);
        });
        return new Timing(decoding.Skip(decoding.Count - total.Seconds.Count).ToList());
    }

    /// <summary>One forward over the prompt with logits on every position (what a scoring pass computes).</summary>
    static Timing Prefill(LlamaForCausalLM model, ForwardBenchmarkOptions options)
    {
        using var tokens = PromptTokens(model, options);
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
        using var prompt = PromptTokens(model, options);
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
        using var tokens = BenchmarkModels.RandomTokens(options.TrainBatch, options.TrainLength + 1, vocab: model.Config.VocabSize);
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
