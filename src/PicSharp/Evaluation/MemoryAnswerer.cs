using System.Diagnostics;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Evaluation;

/// <summary>
/// Answers from a compressed context: the compressor turns the passage into memory, and the frozen decoder reads
/// `[memory][&lt;qa&gt;]` + the tokens of <see cref="QaPrompt.Prompt"/> without the context, then generates as the other
/// answerers do, through an <see cref="IAnswerer"/> like every command (TorchSharp's unless another is given). Consecutive questions about one passage share one compression. Compression and answering time are
/// kept apart, so the cost of making a memory and the cost of reading it can be reported separately.
/// <see cref="FromOtherPassages"/> is the control: the same decoder and task token reading another passage's memory,
/// so what it still gets right (or how low its answer loss goes) is the trained prior, not this passage's memory.
/// </summary>
public sealed class MemoryAnswerer : IQaAnswerer, IDisposable
{
    readonly Compressor compressor;
    readonly MemoryDecoder decoder;
    readonly TextTokenizer tokenizer;
    readonly int maxNewTokens;
    readonly IAnswerer answerer;
    readonly IReadOnlyDictionary<string, string>? otherPassage; // the control's passage → the passage it reads instead
    string? memoryContext;
    CompressedMemory? memory;
    readonly Stopwatch compressing = new(), answering = new();

    public const string OtherPassageMode = "memory-other";

    /// <param name="answerer">answers from the memories (default: <see cref="TorchAnswerer"/> on the compressor's model).</param>
    public MemoryAnswerer(Compressor compressor, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens, IAnswerer? answerer = null)
        : this(compressor, tokenizer, maxNewTokens, otherPassage: null, answerer) { }

    MemoryAnswerer(Compressor compressor, TextTokenizer tokenizer, int maxNewTokens, IReadOnlyDictionary<string, string>? otherPassage, IAnswerer? answerer)
    {
        this.compressor = compressor;
        this.tokenizer = tokenizer;
        this.otherPassage = otherPassage;
        decoder = new MemoryDecoder(compressor);
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "need at least one new token");
        this.maxNewTokens = maxNewTokens;
        this.answerer = answerer ?? new TorchAnswerer(compressor.Model, tokenizer, compressor);
    }

    /// <summary>
    /// The control mode <see cref="OtherPassageMode"/>: each question is answered from the memory of the next
    /// different passage of <paramref name="examples"/> (in order of first appearance, the last reading the first).
    /// </summary>
    public static MemoryAnswerer FromOtherPassages(Compressor compressor, TextTokenizer tokenizer, IReadOnlyList<SquadExample> examples,
        int maxNewTokens = QaGeneration.DefaultMaxNewTokens, IAnswerer? answerer = null)
    {
        var passages = examples.Select(e => e.Context).Distinct().ToList();
        if (passages.Count < 2) throw new InvalidInputException($"{OtherPassageMode} needs questions about at least two different passages");
        var other = passages.Select((p, i) => (p, passages[(i + 1) % passages.Count])).ToDictionary(x => x.Item1, x => x.Item2);
        return new MemoryAnswerer(compressor, tokenizer, maxNewTokens, other, answerer);
    }

    public string Mode => otherPassage is null ? "memory" : OtherPassageMode;
    public Compressor Compressor => compressor;

    /// <summary>Passages compressed so far, their context tokens and the memory tokens they became.</summary>
    public int ContextsCompressed { get; private set; }
    public long ContextTokens { get; private set; }
    public long MemoryTokens { get; private set; }
    public TimeSpan CompressionTime => compressing.Elapsed;
    public TimeSpan AnswerTime => answering.Elapsed;

    /// <summary>The compressor's input: the passage's tokens, without BOS (chunks after the first never start with one).</summary>
    public static IReadOnlyList<int> ContextIds(TextTokenizer tokenizer, string context) => tokenizer.EncodeText(context);

    /// <summary>What the decoder reads after `[memory][&lt;qa&gt;]` (<see cref="QaGeneration.MemoryPromptIds"/>).</summary>
    public static IReadOnlyList<int> PromptIds(TextTokenizer tokenizer, string question) => QaGeneration.MemoryPromptIds(tokenizer, question);

    public int InputLength(SquadExample example) =>
        compressor.Layout(Math.Max(1, ContextIds(tokenizer, PassageRead(example)).Count)).MemoryCount + 1 + PromptIds(tokenizer, example.Question).Count;

    string PassageRead(SquadExample example) => otherPassage is null ? example.Context : otherPassage[example.Context];

    public string Answer(SquadExample example)
    {
        var read = MemoryOf(PassageRead(example));
        answering.Start();
        try
        {
            return answerer.Answer([answerer.FromMemory(read, example.Question, maxNewTokens)])[0].Text;
        }
        finally { answering.Stop(); }
    }

    /// <summary>Scored as the QA stage trains (<c>[memory][&lt;qa&gt;]</c> + question, answer as targets), without
    /// the EOS that training appends, so the number compares with the other modes'.</summary>
    public double AnswerLoss(SquadExample example)
    {
        var read = MemoryOf(PassageRead(example));
        var scored = new DecoderExample(TaskToken.Answer, PromptIds(tokenizer, example.Question), QaGeneration.GoldAnswerIds(tokenizer, example));
        using var _ = no_grad();
        using var loss = decoder.Loss(read, [scored], memoryRows: [0]);
        return loss.Mean.item<float>();
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
