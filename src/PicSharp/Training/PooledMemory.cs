using PicSharp.Compression;
using static TorchSharp.torch;

namespace PicSharp.Training;

/// <summary>
/// Memory without an encoder: each memory slot is the mean of the token embeddings of the `ratio` context tokens it
/// stands for, in the layout a compressor's memory has (same slot counts, same decoder positions). A decoder that has
/// never read memory ignores a compressor's output, so the compressor gets no useful gradient and never learns to
/// write, and the decoder never learns to read: episodes on pooled memory break that circle, since this memory holds
/// its passage from the first step (picsharp-base reconstructs 58 % of a passage from it at 4x, untrained).
/// </summary>
public static class PooledMemory
{
    public static CompressedMemory Of(Compressor layoutOf, IReadOnlyList<IReadOnlyList<int>> contexts)
    {
        if (contexts.Count == 0) throw new ArgumentException("no contexts to pool");
        using var scope = NewDisposeScope();
        var layouts = contexts.Select(c => layoutOf.Layout(c.Count)).ToList();
        int ratio = layoutOf.Options.Ratio, slots = layouts.Max(l => l.MemoryCount), rows = contexts.Count;
        var ids = new long[rows * slots * ratio];
        var weights = new float[ids.Length];
        for (int b = 0; b < rows; b++)
            foreach (var chunk in layouts[b].Chunks)
                for (int j = 0; j < chunk.MemoryCount; j++)
                {
                    int first = chunk.Start + j * ratio, count = Math.Min(ratio, chunk.Start + chunk.Length - first);
                    int at = (b * slots + chunk.FirstMemory + j) * ratio;
                    for (int k = 0; k < count; k++)
                    {
                        ids[at + k] = contexts[b][first + k];
                        weights[at + k] = 1f / count;
                    }
                }
        var model = layoutOf.Model;
        var embedded = model.Embed(tensor(ids).reshape(rows, slots, ratio));
        var pooled = embedded.mul(tensor(weights).reshape(rows, slots, ratio, 1).to(embedded.dtype)).sum(2);
        var next = layouts.Select(l => l.Sequence.Max(s => s.Position) + 1).ToArray();
        return new CompressedMemory(MemoryKind.Embeddings, pooled.MoveToOuterDisposeScope(), null,
            layouts.Select(l => l.MemoryCount).ToArray(), next, contexts.Select(c => c.Count).ToArray());
    }
}
