namespace PicSharp.Compression;

/// <summary>A question for <see cref="MemoryDecoder.GenerateBatch"/>: the memory (and its row) it is asked about, and its prompt tokens.</summary>
public sealed record MemoryQuestion(CompressedMemory Memory, int Row, IReadOnlyList<int> Prompt);
