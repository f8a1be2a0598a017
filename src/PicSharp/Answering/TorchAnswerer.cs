using System.Diagnostics;
using PicSharp.Compression;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Answering;

/// <summary>
/// The answerer on this library's own model: questions about a memory are read by the frozen decoder (with the
/// compressor's decoder adapter when it has one) after `[memory][&lt;qa&gt;]`; questions without one by the base model
/// alone. Generation is greedy in the QA format (<see cref="QaGeneration.Options"/>): it stops at EOS or at the end
/// of the line, and the answer is that line, trimmed, streamed in the same pieces it is made of. Not thread-safe (one
/// TorchSharp model runs one forward at a time).
/// </summary>
public sealed class TorchAnswerer : IAnswerer
{
    readonly LlamaForCausalLM model;
    readonly TextTokenizer tokenizer;
    readonly MemoryDecoder? decoder;

    /// <param name="compressor">whose memories this answerer reads; null: it answers from text only.</param>
    public TorchAnswerer(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor? compressor = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        decoder = compressor is null ? null : new MemoryDecoder(compressor);
    }

    public AnswerRequest FromMemory(CompressedMemory memory, string question, int maxNewTokens, int row = 0)
    {
        if (decoder is null) throw new InvalidOperationException("this answerer was made without a compressor, so it cannot read memories");
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
        var prompt = QaGeneration.TextPromptIds(tokenizer, model.Config, context, question);
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
        if (inputPositions + maxNewTokens > model.Config.MaxPositionEmbeddings)
            throw new PromptTooLongException(inputPositions, maxNewTokens, model.Config.MaxPositionEmbeddings);
    }

    public IReadOnlyList<AnswerResult> Answer(IReadOnlyList<AnswerRequest> requests)
    {
        if (requests.Count == 0) throw new ArgumentException("no questions to answer");
        using var _ = no_grad();
        var clock = Stopwatch.StartNew();
        var results = new GenerationResult[requests.Count];
        // Memory questions run through the decoder (and its adapter, if any), the others through the base model
        // alone, and each sampling decodes on its own: a call that mixes them decodes several batches.
        foreach (var group in Enumerable.Range(0, requests.Count).GroupBy(i => (Text: requests[i].Memory is null, requests[i].Sampling.BatchKey)))
        {
            var rows = group.ToList();
            var asked = rows.Select(i => requests[i]).ToList();
            var sampling = asked[0].Sampling;
            var qa = QaGeneration.Options(tokenizer, model.Config, asked.Max(r => r.MaxNewTokens));
            var options = qa with
            {
                Temperature = sampling.Temperature, TopP = sampling.TopP, Seed = sampling.Seed,
                StopStrings = [.. qa.StopStrings, .. sampling.Stop],
            };
            void OnText(int row, string piece) => asked[row].OnText?.Invoke(piece);
            var generated = group.Key.Text ? FromPrompts(asked, options, OnText)
                : decoder!.GenerateBatch(asked, TaskToken.Answer, options, Decode, onText: OnText);
            for (int j = 0; j < rows.Count; j++) results[rows[j]] = generated[j];
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return results.Select((r, i) => new AnswerResult(r.Text!, requests[i].Prompt.Count, r.Tokens.Count, r.Reason, seconds)).ToList();
    }

    IReadOnlyList<GenerationResult> FromPrompts(IReadOnlyList<AnswerRequest> asked, GenerationOptions options, Action<int, string> onText)
    {
        using var scope = NewDisposeScope();
        using var adapters = model.UseAdapter(null); // the frozen base model
        var prompts = asked.Select(r => new GenerationPrompt(model.Embed(tensor(r.Prompt.Select(i => (long)i).ToArray())))
            { MaxNewTokens = r.MaxNewTokens, Cancel = r.Cancel }).ToList();
        return TextGeneration.GenerateBatch(model, prompts, options, Decode, onText: onText);
    }

    string Decode(IReadOnlyList<int> ids) => QaGeneration.Decode(tokenizer, ids);
}
