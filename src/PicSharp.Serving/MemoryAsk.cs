using PicSharp.Compression;

namespace PicSharp.Serving;

/// <summary>A question for <see cref="PicEngine.AnswerFromMemories"/>: one context's memory, the question, its answer
/// length, where its text streams to and the caller's cancellation.</summary>
public sealed record MemoryAsk(CompressedMemory Memory, string Question, int MaxNewTokens)
{
    public Action<string>? OnText { get; init; }
    public CancellationToken Cancel { get; init; }
}
