using System.Diagnostics;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.LlamaCpp;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

/// <summary>What `pic bench ask` measures: context lengths, compression ratios, question and answer lengths.</summary>
public sealed record AskBenchmarkOptions(IReadOnlyList<int> ContextLengths, IReadOnlyList<int> Ratios, int QuestionTokens, int AnswerTokens, RunPlan Plan);

/// <summary>
/// One way of answering a question about a context: (a) `full` reads the context in the prompt, (b) `compress+answer`
/// compresses it first, (c) `stored memory` loads an already compressed memory file. Times in seconds (medians).
/// </summary>
public sealed record AskResult(string Model, string Dtype, int ContextLength, string Mode, int? Ratio, int DecoderPromptTokens,
    Timing FirstToken, Timing Total, string Engine);

/// <summary>
/// Time to first token and total answer time of the three ways, with a fixed number of answer tokens (greedy, no stop
/// token) so every way generates the same amount. The compressor is untrained (LoRA B = 0, random memory tokens):
/// it costs exactly what a trained one of the same shape costs, which is all a timing needs. Answers decode on
/// TorchSharp, or on llama.cpp when a llama.cpp engine is given (compression is TorchSharp's either way).
/// </summary>
public static class AskBenchmark
{
    public const string Full = "(a) full", Compress = "(b) compress", Stored = "(c) stored";

    /// <param name="llama">opens the llama.cpp engine that reads a compressor's memories (null: text only); null:
    /// TorchSharp decodes.</param>
    public static IEnumerable<AskResult> Run(string modelName, LlamaForCausalLM model, AskBenchmarkOptions options, string scratchDir,
        Func<Compressor?, LlamaCppAnswerer>? llama = null)
    {
        string dtype = ModelFolder.TorchDtypeName(model.Dtype);
        string engine = llama is null ? "torch" : "llamacpp";
        var generation = new GenerationOptions { MaxNewTokens = options.AnswerTokens };
        var random = new Random(7);
        IReadOnlyList<int> Tokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        var question = Tokens(options.QuestionTokens);
        foreach (int length in options.ContextLengths)
        {
            var context = Tokens(length);
            int fullPrompt = length + options.QuestionTokens;
            if (fullPrompt + options.AnswerTokens > model.Config.MaxPositionEmbeddings)
                throw new InvalidInputException($"{modelName}: a {length}-token context + {options.QuestionTokens} question + {options.AnswerTokens} answer tokens " +
                    $"exceed its {model.Config.MaxPositionEmbeddings} positions; choose shorter --contexts");
            var fullIds = tensor(context.Concat(question).Select(t => (long)t).ToArray()).unsqueeze(0);
            Timing first, total;
            using (var fromText = llama?.Invoke(null))
                (first, total) = Measure(options.Plan, onToken =>
                {
                    using var scope = NewDisposeScope();
                    if (fromText is null) TextGeneration.Generate(model, model.Embed(fullIds), generation, onToken: onToken);
                    else fromText.Generate([new AnswerRequest([.. context, .. question], options.AnswerTokens)], generation, onToken: (_, token) => onToken(token));
                });
            yield return new AskResult(modelName, dtype, length, Full, null, fullPrompt, first, total, engine);

            foreach (int ratio in options.Ratios)
                foreach (var result in FromMemory(modelName, model, options, context, question, ratio, generation, scratchDir, llama))
                    yield return result;
        }
    }

    static IEnumerable<AskResult> FromMemory(string modelName, LlamaForCausalLM model, AskBenchmarkOptions options,
        IReadOnlyList<int> context, IReadOnlyList<int> question, int ratio, GenerationOptions generation, string scratchDir,
        Func<Compressor?, LlamaCppAnswerer>? llama)
    {
        string dtype = ModelFolder.TorchDtypeName(model.Dtype);
        string engine = llama is null ? "torch" : "llamacpp";
        var compressorOptions = new CompressorOptions { Ratio = ratio, ChunkLength = Math.Max(new CompressorOptions().ChunkLength, ratio) };
        using var compressor = new Compressor(model, compressorOptions);
        var decoder = new MemoryDecoder(compressor);
        using var fromMemory = llama?.Invoke(compressor);
        // The answer from a memory, on the engine under test.
        void Answer(CompressedMemory memory, Action<int> onToken)
        {
            if (fromMemory is null) decoder.Generate(memory, TaskToken.Answer, question, generation, onToken: onToken);
            else fromMemory.Generate([new AnswerRequest(question, options.AnswerTokens) { Memory = memory }], generation, onToken: (_, token) => onToken(token));
        }
        int memoryTokens = compressor.Layout(context.Count).MemoryCount;
        int decoderPrompt = memoryTokens + 1 + question.Count;

        var (first, total) = Measure(options.Plan, onToken =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            using var memory = compressor.Compress([context]);
            Answer(memory, onToken);
        });
        var compressed = new AskResult(modelName, dtype, context.Count, Compress, ratio, decoderPrompt, first, total, engine);

        string path = Path.Combine(scratchDir, $"memory-{context.Count}-{ratio}.safetensors");
        var info = MemoryFileInfo.Of(compressor, modelName);
        using (no_grad())
        using (var memory = compressor.Compress([context]))
            MemoryFile.Save(path, memory, info);
        (first, total) = Measure(options.Plan, onToken =>
        {
            using var scope = NewDisposeScope();
            var (memory, _) = MemoryFile.Load(path, info.CompressorId);
            using (memory) Answer(memory, onToken);
        });
        File.Delete(path);
        return [compressed, new AskResult(modelName, dtype, context.Count, Stored, ratio, decoderPrompt, first, total, engine)];
    }

    // Times whole answers; the first streamed token marks the time to first token of the same run.
    static (Timing FirstToken, Timing Total) Measure(RunPlan plan, Action<Action<int>> answer)
    {
        var firsts = new List<double>();
        var watch = new Stopwatch();
        var totals = plan.Measure(() =>
        {
            double? first = null;
            watch.Restart();
            answer(_ => first ??= watch.Elapsed.TotalSeconds);
            firsts.Add(first ?? double.NaN);
        });
        return (new Timing(firsts.Skip(firsts.Count - totals.Seconds.Count).ToList()), totals);
    }
}
