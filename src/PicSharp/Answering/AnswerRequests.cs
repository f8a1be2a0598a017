using PicSharp.Compression;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Answering;

/// <summary>
/// How every answerer turns a question into an <see cref="AnswerRequest"/> and a batch of requests into decoding runs:
/// one tokenisation, one set of checks and one set of generation options, whichever engine decodes, so both engines
/// refuse the same input with the same words and stop on the same tokens and strings.
/// </summary>
/// <param name="maxPositions">the most positions one sequence may take (prompt and answer): the model's, or an engine's
/// smaller window.</param>
sealed class AnswerRequests(TextTokenizer tokenizer, LlamaConfig config, int maxPositions)
{
    public AnswerRequest FromMemory(CompressedMemory memory, string question, int maxNewTokens, int row)
    {
        if (row < 0 || row >= memory.Batch) throw new ArgumentException($"memory row {row} does not exist (the memory has {memory.Batch})");
        RequireQuestion(question);
        var prompt = QaGeneration.MemoryPromptIds(tokenizer, question);
        // Decoder positions: embeddings start at 0, a key-values prefix continues from the compressor's positions.
        long first = memory.Kind == MemoryKind.Embeddings ? memory.Counts[row] : memory.NextPositions[row];
        CheckLength(first + 1 + prompt.Count, maxNewTokens);
        return new AnswerRequest(prompt, maxNewTokens) { Memory = memory, MemoryRow = row };
    }

    public AnswerRequest FromText(string? context, string question, int maxNewTokens)
    {
        RequireQuestion(question);
        var prompt = QaGeneration.TextPromptIds(tokenizer, config, context, question);
        CheckLength(prompt.Count, maxNewTokens);
        return new AnswerRequest(prompt, maxNewTokens);
    }

    static void RequireQuestion(string question)
    {
        if (EmptyTextException.IsBlank(question)) throw new EmptyTextException("the question is empty");
    }

    void CheckLength(long inputPositions, int maxNewTokens)
    {
        if (maxNewTokens < 1) throw new InvalidInputException($"max new tokens must be at least 1, got {maxNewTokens}");
        if (inputPositions + maxNewTokens > maxPositions) throw new PromptTooLongException(inputPositions, maxNewTokens, maxPositions);
    }

    /// <summary>
    /// The requests as decoding runs: questions about a memory apart from questions without one (the memory decoder
    /// may run an adapter, the base model never does), and each sampling apart (a batch shares its options). Each run
    /// gets the QA format's options (greedy, stop at EOS or the end of the line) with its sampling and stop strings.
    /// </summary>
    public IEnumerable<(bool FromText, IReadOnlyList<int> Rows, GenerationOptions Options)> Runs(IReadOnlyList<AnswerRequest> requests)
    {
        if (requests.Count == 0) throw new ArgumentException("no questions to answer");
        foreach (var group in Enumerable.Range(0, requests.Count).GroupBy(i => (Text: requests[i].Memory is null, requests[i].Sampling.BatchKey)))
        {
            var rows = group.ToList();
            var sampling = requests[rows[0]].Sampling;
            var qa = QaGeneration.Options(tokenizer, config, rows.Max(i => requests[i].MaxNewTokens));
            yield return (group.Key.Text, rows, qa with
            {
                Temperature = sampling.Temperature, TopP = sampling.TopP, Seed = sampling.Seed,
                StopStrings = [.. qa.StopStrings, .. sampling.Stop],
            });
        }
    }

    /// <summary>The text of generated ids, as every engine shows it (<see cref="QaGeneration.Decode"/>).</summary>
    public string Decode(IReadOnlyList<int> ids) => QaGeneration.Decode(tokenizer, ids);

    /// <summary>Result i of request i, with the seconds the whole call took.</summary>
    public static IReadOnlyList<AnswerResult> Results(IReadOnlyList<AnswerRequest> requests, IReadOnlyList<GenerationResult> generated, double seconds) =>
        generated.Select((r, i) => new AnswerResult(r.Text!, requests[i].Prompt.Count, r.Tokens.Count, r.Reason, seconds)).ToList();
}
