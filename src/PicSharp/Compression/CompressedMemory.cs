using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// The compressor's output for a batch of contexts, padded to the longest: memory embeddings [batch, K, hidden], or
/// for the key-values kind each layer's keys and values [batch, kv_heads, K, head_dim]. `Counts[b]` memory tokens of
/// row b are real; the rest is padding.
/// </summary>
public sealed class CompressedMemory : IDisposable
{
    public MemoryKind Kind { get; }
    public Tensor? Embeddings { get; }
    public IReadOnlyList<(Tensor Keys, Tensor Values)>? KeyValues { get; }
    public IReadOnlyList<int> Counts { get; }
    /// <summary>First decoder position after each row's memory (key-values kind: the keys carry compressor positions).</summary>
    public IReadOnlyList<long> NextPositions { get; }
    /// <summary>Context tokens each row summarises.</summary>
    public IReadOnlyList<int> ContextLengths { get; }

    public CompressedMemory(MemoryKind kind, Tensor? embeddings, IReadOnlyList<(Tensor Keys, Tensor Values)>? keyValues,
        IReadOnlyList<int> counts, IReadOnlyList<long> nextPositions, IReadOnlyList<int> contextLengths)
    {
        if ((kind == MemoryKind.Embeddings) != (embeddings is not null) || (kind == MemoryKind.KeyValues) != (keyValues is not null))
            throw new ArgumentException($"a {kind} memory needs exactly its own tensors");
        Kind = kind;
        Embeddings = embeddings;
        KeyValues = keyValues;
        Counts = counts;
        NextPositions = nextPositions;
        ContextLengths = contextLengths;
    }

    public int Batch => Counts.Count;

    /// <summary>Row b alone, without padding.</summary>
    public CompressedMemory Row(int b)
    {
        int k = Counts[b];
        return new CompressedMemory(Kind,
            Embeddings?[b..(b + 1), ..k],
            KeyValues?.Select(kv => (kv.Keys[b..(b + 1), .., ..k], kv.Values[b..(b + 1), .., ..k])).ToList(),
            [k], [NextPositions[b]], [ContextLengths[b]]);
    }

    /// <summary>The first `count` memory tokens of row 0 (whole memory blocks), summarising `contextLength` tokens.</summary>
    public CompressedMemory Prefix(int count, long nextPosition, int contextLength) => new(Kind,
        Embeddings?[..1, ..count],
        KeyValues?.Select(kv => (kv.Keys[..1, .., ..count], kv.Values[..1, .., ..count])).ToList(),
        [count], [nextPosition], [contextLength]);

    /// <summary>Row-0 memories one after another (incremental compression appends new blocks to old ones).</summary>
    public static CompressedMemory Concatenate(CompressedMemory first, CompressedMemory second)
    {
        if (first.Kind != second.Kind) throw new ArgumentException("cannot join memories of different kinds");
        if (first.Batch != 1 || second.Batch != 1) throw new ArgumentException("only single-context memories can be joined");
        return new CompressedMemory(first.Kind,
            first.Embeddings is null ? null : cat([first.Embeddings, second.Embeddings!], dim: 1),
            first.KeyValues?.Zip(second.KeyValues!, (a, b) => (cat([a.Keys, b.Keys], dim: 2), cat([a.Values, b.Values], dim: 2))).ToList(),
            [first.Counts[0] + second.Counts[0]], [second.NextPositions[0]], [first.ContextLengths[0] + second.ContextLengths[0]]);
    }

    public void Dispose()
    {
        Embeddings?.Dispose();
        if (KeyValues is null) return;
        foreach (var (k, v) in KeyValues) { k.Dispose(); v.Dispose(); }
    }
}
