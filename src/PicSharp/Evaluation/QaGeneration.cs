using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Evaluation;

/// <summary>
/// How every answerer generates an answer: greedy, at most a few dozen tokens, stopping at EOS or at the end of the
/// line (QaPrompt's format puts the answer on the "Answer:" line).
/// </summary>
public static class QaGeneration
{
    public const int DefaultMaxNewTokens = 32;
    public const string StopString = "\n";

    /// <summary>Greedy decoding that stops at the tokenizer's or the model config's EOS ids, or at a newline; the
    /// answer is the text before it, trimmed.</summary>
    public static GenerationOptions Options(TextTokenizer tokenizer, LlamaConfig config, int maxNewTokens = DefaultMaxNewTokens)
    {
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "need at least one new token");
        var stopIds = config.EosTokenIds.ToHashSet();
        if (tokenizer.EosTokenId is int eos) stopIds.Add(eos);
        return new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = stopIds, StopStrings = [StopString], TrimText = true };
    }

    /// <summary>What the decoder reads after `[memory][&lt;qa&gt;]`: the question in the prompt format, no context, no BOS.</summary>
    public static IReadOnlyList<int> MemoryPromptIds(TextTokenizer tokenizer, string question) => tokenizer.EncodeText(QaPrompt.Prompt(null, question));

    /// <summary>What the base model reads without a memory: BOS (the config's, else the tokenizer's) and the prompt
    /// format with the context (or none) and the question.</summary>
    public static IReadOnlyList<int> TextPromptIds(TextTokenizer tokenizer, LlamaConfig config, string? context, string question) =>
        tokenizer.EncodeWithBos(QaPrompt.Prompt(context, question), config.BosTokenId);

    /// <summary>Text of generated ids without special tokens; ids of padded embedding rows decode to nothing
    /// rather than failing the whole evaluation.</summary>
    public static string Decode(TextTokenizer tokenizer, IEnumerable<int> generated) =>
        tokenizer.Decode(generated, skipSpecialTokens: true, skipIdsWithoutText: true);

    /// <summary>The tokens of the first gold answer as the prompt's continuation (<see cref="QaPrompt.Target"/>), no EOS: the
    /// text every mode is scored on by <see cref="IQaAnswerer.AnswerLoss"/>.</summary>
    public static IReadOnlyList<int> GoldAnswerIds(TextTokenizer tokenizer, SquadExample example) =>
        example.Answers.Count == 0
            ? throw new ArgumentException($"example {example.Id} has no gold answer to score")
            : tokenizer.EncodeText(QaPrompt.Target(example.Answers[0].Text));
}
