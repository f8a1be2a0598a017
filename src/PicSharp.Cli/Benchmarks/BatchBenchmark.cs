using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.LlamaCpp;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

public sealed record BatchBenchmarkOptions(IReadOnlyList<int> Batches, int ContextLength, int Ratio, int QuestionTokens, int AnswerTokens,
    bool SameMemory, RunPlan Plan);

/// <param name="Prefill">seconds of the batch's first forward (all rows' memory + question) and first choice.</param>
/// <param name="Total">seconds of the whole batched answer.</param>
public sealed record BatchResult(string Dtype, int Batch, int AnswerTokens, Timing Prefill, Timing Total)
{
    /// <summary>Decoding steps after the first token.</summary>
    public double StepSeconds => Math.Max(0, Total.Median - Prefill.Median) / (AnswerTokens - 1);
    /// <summary>Tokens produced per second by the decoding steps (all rows).</summary>
    public double DecodeTokensPerSecond => Batch / StepSeconds;
    /// <summary>Answer tokens per second over the whole call, the first forward included.</summary>
    public double TokensPerSecond => Batch * AnswerTokens / Total.Median;
}

/// <summary>
/// Concurrent questions answered as one batch by <see cref="MemoryDecoder.GenerateBatch"/>: each row is a question
/// (8 to 24 tokens, so rows differ in length) about a compressed context (its own, or one shared memory), and every
/// row generates the same number of tokens (greedy, no stop token). The compressor is untrained: same cost as a
/// trained one of its shape. On llama.cpp the rows are one batch of sequences, one per question.
/// </summary>
public static class BatchBenchmark
{
    /// <param name="llama">opens the llama.cpp engine for the compressor with room for the given number of
    /// sequences of the given number of positions; null: TorchSharp decodes.</param>
    public static IEnumerable<BatchResult> Run(LlamaForCausalLM model, BatchBenchmarkOptions options, Func<Compressor, int, int, LlamaCppAnswerer>? llama = null)
    {
        string dtype = ModelFolder.TorchDtypeName(model.Dtype);
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = options.Ratio, ChunkLength = Math.Max(new CompressorOptions().ChunkLength, options.Ratio) });
        var decoder = new MemoryDecoder(compressor);
        var random = new Random(11);
        IReadOnlyList<int> Tokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        int largest = options.Batches.Max();
        var contexts = Enumerable.Range(0, options.SameMemory ? 1 : largest).Select(_ => Tokens(options.ContextLength)).ToList();
        using var memory = WithoutGradients(() => compressor.Compress(contexts));
        var questions = Enumerable.Range(0, largest).Select(b => new AnswerRequest(
            Tokens(Math.Max(1, options.QuestionTokens - 8 + (b * 16 / Math.Max(1, largest - 1)))), options.AnswerTokens)
            { Memory = memory, MemoryRow = options.SameMemory ? 0 : b }).ToList();

        int positions = questions.Max(q => memory.Counts[q.MemoryRow] + 1 + q.Prompt.Count) + options.AnswerTokens;
        using var engine = llama?.Invoke(compressor, largest, positions);
        foreach (int batch in options.Batches)
        {
            var rows = questions.Take(batch).ToList();
            Timing Answer(int tokens) => options.Plan.Measure(() =>
            {
                using var scope = NewDisposeScope();
                var asked = rows.Select(r => r with { MaxNewTokens = tokens }).ToList();
                var generation = new GenerationOptions { MaxNewTokens = tokens };
                if (engine is null) decoder.GenerateBatch(asked, TaskToken.Answer, generation);
                else engine.Generate(asked, generation);
            });
            yield return new BatchResult(dtype, batch, options.AnswerTokens, Answer(1), Answer(options.AnswerTokens));
        }
    }

    static T WithoutGradients<T>(Func<T> make)
    {
        using var _ = no_grad();
        return make();
    }
}
