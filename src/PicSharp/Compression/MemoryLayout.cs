namespace PicSharp.Compression;

/// <summary>One chunk of the context: its text span and its memory tokens.</summary>
/// <param name="FirstMemory">index of the chunk's first memory token among all memory tokens of the context.</param>
public sealed record Chunk(int Index, int Start, int Length, int FirstMemory, int MemoryCount);

/// <summary>What one position of the compressor's input sequence holds.</summary>
/// <param name="ContextIndex">the context token's index, or -1 for a memory token.</param>
/// <param name="MemoryIndex">the memory token's index among the context's memory tokens, or -1 for text.</param>
/// <param name="Slot">the memory token's slot within its chunk (selects its learned embedding), or -1.</param>
public readonly record struct SequenceSlot(int Chunk, int ContextIndex, int MemoryIndex, int Slot, long Position)
{
    public bool IsMemory => MemoryIndex >= 0;
}

/// <summary>
/// The arrangement of one context in the compressor: chunks of `ChunkLength` tokens, `ChunkLength / Ratio` memory
/// tokens per full chunk (`ceil(length / Ratio)` for a shorter last chunk), where they sit and their position ids.
/// Text tokens always keep their position in the context, so every policy reads the text as a plain LM would.
/// </summary>
public sealed class MemoryLayout
{
    public int ContextLength { get; }
    public int Ratio { get; }
    public int ChunkLength { get; }
    public MemoryPlacement Placement { get; }
    public MemoryPositions Positions { get; }
    public IReadOnlyList<Chunk> Chunks { get; }
    public int MemoryCount { get; }
    public int MemorySlotsPerChunk => ChunkLength / Ratio;

    /// <summary>The compressor's input sequence, text and memory tokens in placement order.</summary>
    public IReadOnlyList<SequenceSlot> Sequence { get; }

    /// <param name="globalSpan">memory positions span the whole context (the ICAE arrangement) instead of each chunk.</param>
    public MemoryLayout(int contextLength, int ratio, int chunkLength, MemoryPlacement placement = MemoryPlacement.Interleaved,
        MemoryPositions positions = MemoryPositions.Sequential, bool globalSpan = false)
    {
        Validate(contextLength, ratio, chunkLength);
        ContextLength = contextLength;
        Ratio = ratio;
        ChunkLength = chunkLength;
        Placement = placement;
        Positions = positions;

        var chunks = new List<Chunk>();
        int memory = 0;
        for (int start = 0; start < contextLength; start += chunkLength)
        {
            int length = Math.Min(chunkLength, contextLength - start);
            int count = (length + ratio - 1) / ratio;
            chunks.Add(new Chunk(chunks.Count, start, length, memory, count));
            memory += count;
        }
        Chunks = chunks;
        MemoryCount = memory;
        Sequence = BuildSequence(globalSpan);
    }

    public static void Validate(int contextLength, int ratio, int chunkLength)
    {
        if (contextLength <= 0) throw new ArgumentException("the context is empty: there is nothing to compress");
        if (ratio < 1) throw new ArgumentException($"compression ratio must be at least 1, got {ratio}");
        if (chunkLength < 1) throw new ArgumentException($"chunk length must be positive, got {chunkLength}");
        if (chunkLength % ratio != 0)
            throw new ArgumentException($"chunk length {chunkLength} is not a multiple of ratio {ratio}: each chunk must map to a whole number of memory tokens");
    }

    List<SequenceSlot> BuildSequence(bool globalSpan)
    {
        var text = Chunks.ToDictionary(c => c.Index, c => Enumerable.Range(c.Start, c.Length)
            .Select(i => new SequenceSlot(c.Index, i, -1, -1, i)).ToList());
        var memory = Chunks.ToDictionary(c => c.Index, c => Enumerable.Range(0, c.MemoryCount)
            .Select(j => new SequenceSlot(c.Index, -1, c.FirstMemory + j, j, MemoryPosition(c, j, globalSpan))).ToList());
        return Placement == MemoryPlacement.Interleaved
            ? Chunks.SelectMany(c => text[c.Index].Concat(memory[c.Index])).ToList()
            : Chunks.SelectMany(c => text[c.Index]).Concat(Chunks.SelectMany(c => memory[c.Index])).ToList();
    }

    long MemoryPosition(Chunk chunk, int slot, bool globalSpan)
    {
        // The span a memory token summarises: its chunk, or (ICAE) the whole context.
        int spanStart = globalSpan ? 0 : chunk.Start;
        int spanLength = globalSpan ? ContextLength : chunk.Length;
        int index = globalSpan ? chunk.FirstMemory + slot : slot;
        int count = globalSpan ? MemoryCount : chunk.MemoryCount;
        return Positions == MemoryPositions.Sequential
            ? spanStart + spanLength + index
            : spanStart + (long)Math.Floor((index + 0.5) * spanLength / count);
    }
}
