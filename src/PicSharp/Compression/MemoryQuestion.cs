namespace PicSharp.Compression;

/// <summary>A question for <see cref="MemoryDecoder.GenerateBatch"/>: the memory (and its row) it is asked about, and its prompt tokens.</summary>
public sealed record MemoryQuestion(CompressedMemory Memory, int Row, IReadOnlyList<int> Prompt)
{
    /// <summary>This question's answer length when it differs from the batch's options.</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>When it fires this question stops (the others go on).</summary>
    public CancellationToken Cancel { get; init; }
}
