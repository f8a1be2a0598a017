using System.Diagnostics;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Evaluation;

/// <summary>
/// Answers from a compressed context: the compressor turns the passage into memory, and the frozen decoder reads
/// `[memory][&lt;qa&gt;]` + the tokens of <see cref="QaPrompt.Prompt"/> without the context, then generates as the other
/// answerers do. Consecutive questions about one passage share one compression. Compression and answering time are
/// kept apart, so the cost of making a memory and the cost of reading it can be reported separately.
/// </summary>
public sealed class MemoryAnswerer : IQaAnswerer, IDisposable
{
    readonly Compressor compressor;
    readonly MemoryDecoder decoder;
    readonly TextTokenizer tokenizer;
    readonly GenerationOptions options;
    string? memoryContext;
    CompressedMemory? memory;
    readonly Stopwatch compressing = new(), answering = new();

    public MemoryAnswerer(Compressor compressor, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens)
    {
        this.compressor = compressor;
        this.tokenizer = tokenizer;
        decoder = new MemoryDecoder(compressor);
        options = QaGeneration.Options(tokenizer, compressor.Model.Config, maxNewTokens);
    }

    public string Mode => "memory";
    public Compressor Compressor => compressor;

    /// <summary>Passages compressed so far, their context tokens and the memory tokens they became.</summary>
    public int ContextsCompressed { get; private set; }
    public long ContextTokens { get; private set; }
    public long MemoryTokens { get; private set; }
    public TimeSpan CompressionTime => compressing.Elapsed;
    public TimeSpan AnswerTime => answering.Elapsed;

    /// <summary>The compressor's input: the passage's tokens, without BOS (chunks after the first never start with one).</summary>
    public static IReadOnlyList<int> ContextIds(TextTokenizer tokenizer, string context) => tokenizer.Encode(context);

    /// <summary>What the decoder reads after `[memory][&lt;qa&gt;]`: the question in the prompt format, no context.</summary>
    public static IReadOnlyList<int> PromptIds(TextTokenizer tokenizer, string question) => tokenizer.Encode(QaPrompt.Prompt(null, question));

    public int InputLength(SquadExample example) =>
        compressor.Layout(Math.Max(1, ContextIds(tokenizer, example.Context).Count)).MemoryCount + 1 + PromptIds(tokenizer, example.Question).Count;

    public string Answer(SquadExample example)
    {
        var read = MemoryOf(example.Context);
        answering.Start();
        try
        {
            var result = decoder.Generate(read, TaskToken.Answer, PromptIds(tokenizer, example.Question), options,
                decode: tokens => QaGeneration.Decode(tokenizer, tokens));
            return QaGeneration.AnswerText(tokenizer, result.Tokens);
        }
        finally { answering.Stop(); }
    }

    CompressedMemory MemoryOf(string context)
    {
        if (memory is not null && memoryContext == context) return memory;
        memory?.Dispose();
        memory = null;
        compressing.Start();
        try
        {
            var ids = ContextIds(tokenizer, context);
            using (no_grad()) memory = compressor.Compress([ids]);
            memoryContext = context;
            ContextsCompressed++;
            ContextTokens += ids.Count;
            MemoryTokens += memory.Counts[0];
            return memory;
        }
        finally { compressing.Stop(); }
    }

    public void Dispose() => memory?.Dispose();
}
