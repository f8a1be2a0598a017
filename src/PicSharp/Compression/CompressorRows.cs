using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// How a batch of contexts is laid out as rows of the compressor's forward pass. Either one row per context with a
/// policy mask (any policy; cost grows with context² and the mask is materialised), or a fast path with plain causal
/// attention: for `pic` one row per chunk (cost grows with chunks × chunk²), for `global` one row per context with
/// all memory tokens after the text (still context², but fused causal attention and no mask). Rows are right-padded;
/// padding never reaches a real token: in causal rows it comes after every real token, in masked rows the mask hides it.
/// </summary>
sealed class CompressorRows
{
    readonly IReadOnlyList<IReadOnlyList<SequenceSlot>> slots;

    public IReadOnlyList<int> RowContexts { get; }
    public Tensor? Mask { get; }
    public int Width { get; }

    CompressorRows(IReadOnlyList<IReadOnlyList<SequenceSlot>> slots, IReadOnlyList<int> rowContexts, Tensor? mask)
    {
        this.slots = slots;
        RowContexts = rowContexts;
        Width = slots.Max(r => r.Count);
        Mask = mask;
    }

    /// <summary>Each chunk's text followed by its memory tokens, as its own causal row.</summary>
    public static CompressorRows OnePerChunk(IReadOnlyList<MemoryLayout> layouts)
    {
        var rows = new List<IReadOnlyList<SequenceSlot>>();
        var owners = new List<int>();
        for (int b = 0; b < layouts.Count; b++)
            foreach (var chunk in layouts[b].Chunks)
            {
                var inChunk = layouts[b].Sequence.Where(s => s.Chunk == chunk.Index).ToList();
                rows.Add([.. inChunk.Where(s => !s.IsMemory), .. inChunk.Where(s => s.IsMemory)]);
                owners.Add(b);
            }
        return new CompressorRows(rows, owners, mask: null);
    }

    /// <summary>
    /// `global` as one causal row per context: its text, then its memory tokens in memory-index order. Under the global
    /// mask text reads earlier text and a memory token reads all text and earlier memory, which is exactly causal
    /// attention in this order; positions come from the layout, so the placement option changes nothing.
    /// </summary>
    public static CompressorRows OneCausalPerContext(IReadOnlyList<MemoryLayout> layouts) =>
        new(layouts.Select(l => (IReadOnlyList<SequenceSlot>)[.. l.Sequence.Where(s => !s.IsMemory), .. l.Sequence.Where(s => s.IsMemory).OrderBy(s => s.MemoryIndex)]).ToList(),
            Enumerable.Range(0, layouts.Count).ToList(), mask: null);

    /// <summary>Each context as one row under the policy's mask; padding rows see only themselves.</summary>
    public static CompressorRows OnePerContext(IReadOnlyList<MemoryLayout> layouts, MaskPolicy policy)
    {
        int width = layouts.Max(l => l.Sequence.Count);
        using var scope = NewDisposeScope();
        var masks = layouts.Select(layout =>
        {
            int n = layout.Sequence.Count;
            var mask = eye(width, dtype: ScalarType.Bool);
            mask[..n, ..n] = ChunkMask.Build(layout, policy);
            return mask;
        }).ToList();
        var stacked = stack(masks).MoveToOuterDisposeScope();
        return new CompressorRows(layouts.Select(l => l.Sequence).ToList(), Enumerable.Range(0, layouts.Count).ToList(), stacked);
    }

    /// <summary>Token ids [rows, width] (0 where not text) and memory slots [rows, width] (-1 where not memory).</summary>
    public (Tensor TokenIds, Tensor MemorySlots) Inputs(IReadOnlyList<IReadOnlyList<int>> contexts)
    {
        var ids = new long[slots.Count * Width];
        var memory = new long[slots.Count * Width];
        Array.Fill(memory, -1);
        for (int r = 0; r < slots.Count; r++)
            for (int t = 0; t < slots[r].Count; t++)
            {
                var slot = slots[r][t];
                if (slot.IsMemory) memory[r * Width + t] = slot.Slot;
                else ids[r * Width + t] = contexts[RowContexts[r]][slot.ContextIndex];
            }
        return (tensor(ids).reshape(slots.Count, Width), tensor(memory).reshape(slots.Count, Width));
    }

    /// <summary>Position ids [rows, width] (0 for padding).</summary>
    public Tensor Positions()
    {
        var positions = new long[slots.Count * Width];
        for (int r = 0; r < slots.Count; r++)
            for (int t = 0; t < slots[r].Count; t++)
                positions[r * Width + t] = slots[r][t].Position;
        return tensor(positions).reshape(slots.Count, Width);
    }

    /// <summary>Where each context's memory tokens come out, in memory-index order, padded to `maxCount`.</summary>
    public MemoryGather MemoryGather(int maxCount)
    {
        int contexts = RowContexts.Max() + 1;
        var index = new long[contexts * maxCount];
        var valid = new float[contexts * maxCount];
        for (int r = 0; r < slots.Count; r++)
            for (int t = 0; t < slots[r].Count; t++)
                if (slots[r][t].IsMemory)
                {
                    int at = RowContexts[r] * maxCount + slots[r][t].MemoryIndex;
                    index[at] = r * Width + t;
                    valid[at] = 1;
                }
        return new MemoryGather(tensor(index), tensor(valid).reshape(contexts, maxCount), slots.Count * Width);
    }
}

/// <summary>Picks memory-token outputs out of the rows into [contexts, K, …], zeroing padding.</summary>
sealed class MemoryGather(Tensor flatIndex, Tensor valid, long flatLength)
{
    long Contexts => valid.shape[0];
    long Count => valid.shape[1];

    /// <summary>[rows, width, hidden] → [contexts, K, hidden].</summary>
    public Tensor Apply(Tensor hidden)
    {
        var picked = hidden.reshape(flatLength, -1).index_select(0, flatIndex).reshape(Contexts, Count, -1);
        return picked * valid.to(picked.dtype).unsqueeze(-1);
    }

    /// <summary>[rows, heads, width, head_dim] → [contexts, heads, K, head_dim].</summary>
    public Tensor ApplyHeads(Tensor perHead)
    {
        long heads = perHead.shape[1], dim = perHead.shape[3];
        var picked = perHead.permute(0, 2, 1, 3).reshape(flatLength, heads, dim).index_select(0, flatIndex)
            .reshape(Contexts, Count, heads, dim).permute(0, 2, 1, 3);
        return picked * valid.to(picked.dtype).unsqueeze(1).unsqueeze(-1);
    }
}
