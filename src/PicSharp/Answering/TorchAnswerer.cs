using System.Diagnostics;
using PicSharp.Compression;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Answering;

/// <summary>
/// The answerer on this library's own model: questions about a memory are read by the frozen decoder after
/// `[memory][&lt;qa&gt;]`; questions without one by the base model alone. Generation is greedy in the QA format
/// (<see cref="QaGeneration.Options"/>): it stops at EOS or at the end of the line, and the answer is that line,
/// trimmed, streamed in the same pieces it is made of. Not thread-safe (one TorchSharp model runs one forward at a
/// time).
/// </summary>
public sealed class TorchAnswerer : IAnswerer
{
    readonly LlamaForCausalLM model;
    readonly MemoryDecoder? decoder;
    readonly AnswerRequests requests;

    /// <param name="compressor">whose memories this answerer reads; null: it answers from text only.</param>
    public TorchAnswerer(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor? compressor = null)
    {
        this.model = model;
        decoder = compressor is null ? null : new MemoryDecoder(compressor);
        requests = new AnswerRequests(tokenizer, model.Config, model.Config.MaxPositionEmbeddings);
    }

    public AnswerRequest FromMemory(CompressedMemory memory, string question, int maxNewTokens, int row = 0)
    {
        if (decoder is null) throw new InvalidOperationException("this answerer was made without a compressor, so it cannot read memories");
        return requests.FromMemory(memory, question, maxNewTokens, row);
    }

    public AnswerRequest FromText(string? context, string question, int maxNewTokens) => requests.FromText(context, question, maxNewTokens);

    public IReadOnlyList<AnswerResult> Answer(IReadOnlyList<AnswerRequest> asked)
    {
        using var _ = no_grad();
        var clock = Stopwatch.StartNew();
        var results = new GenerationResult[asked.Count];
        foreach (var (fromText, rows, options) in requests.Runs(asked))
        {
            var run = rows.Select(i => asked[i]).ToList();
            void OnText(int row, string piece) => run[row].OnText?.Invoke(piece);
            var generated = fromText ? FromPrompts(run, options, OnText)
                : decoder!.GenerateBatch(run, TaskToken.Answer, options, requests.Decode, onText: OnText);
            for (int j = 0; j < rows.Count; j++) results[rows[j]] = generated[j];
        }
        return AnswerRequests.Results(asked, results, clock.Elapsed.TotalSeconds);
    }

    IReadOnlyList<GenerationResult> FromPrompts(IReadOnlyList<AnswerRequest> asked, GenerationOptions options, Action<int, string> onText)
    {
        using var scope = NewDisposeScope();
        using var adapters = model.UseAdapter(null); // the frozen base model
        var prompts = asked.Select(r => new GenerationPrompt(model.Embed(tensor(r.Prompt.Select(i => (long)i).ToArray())))
            { MaxNewTokens = r.MaxNewTokens, Cancel = r.Cancel }).ToList();
        return TextGeneration.GenerateBatch(model, prompts, options, requests.Decode, onText: onText);
    }
}
