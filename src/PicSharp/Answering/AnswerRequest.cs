using PicSharp.Compression;

namespace PicSharp.Answering;

/// <summary>
/// A question ready for the model, tokenised and checked once by <see cref="IAnswerer.FromMemory"/> or
/// <see cref="IAnswerer.FromText"/>: the prompt ids the model reads, the memory it reads them after (null: the base
/// model reads the prompt alone), the answer length, where the answer's text streams to and the caller's
/// cancellation. The one request every front end builds and the model queue carries.
/// </summary>
/// <param name="Prompt">the prompt's token ids: after a memory, the question in the QA format; without one, BOS and
/// the context (if any) and the question.</param>
public sealed record AnswerRequest(IReadOnlyList<int> Prompt, int MaxNewTokens)
{
    /// <summary>The memory the question is about; null when the base model reads the prompt alone.</summary>
    public CompressedMemory? Memory { get; init; }
    /// <summary>Which row of <see cref="Memory"/> (one memory batch may serve several questions).</summary>
    public int MemoryRow { get; init; }
    /// <summary>Receives the answer's text as it grows; the pieces add up to <see cref="AnswerResult.Text"/>.</summary>
    public Action<string>? OnText { get; init; }
    /// <summary>How the answer's tokens are picked (default: greedy); validated by whoever takes it from a user.</summary>
    public Sampling Sampling { get; init; } = Sampling.Greedy;
    /// <summary>When it fires this question stops (<see cref="Modeling.StopReason.Cancelled"/>); the others of its batch go on.</summary>
    public CancellationToken Cancel { get; init; }
}
