using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// The compressor's attention mask for one context under a mask policy: boolean [seq, seq], True = may attend,
/// computed from what each sequence slot is (text or memory, which chunk, which index), never from where it sits,
/// so interleaved and appended placements give the same function.
/// </summary>
public static class ChunkMask
{
    public static Tensor Build(MemoryLayout layout, MaskPolicy policy)
    {
        using var scope = NewDisposeScope();
        var slots = layout.Sequence;
        var isMemory = tensor(slots.Select(s => s.IsMemory).ToArray());
        var chunk = tensor(slots.Select(s => (long)s.Chunk).ToArray());
        var contextIndex = tensor(slots.Select(s => (long)s.ContextIndex).ToArray());
        var memoryIndex = tensor(slots.Select(s => (long)s.MemoryIndex).ToArray());

        Tensor Row(Tensor t) => t.unsqueeze(1); // query
        Tensor Col(Tensor t) => t.unsqueeze(0); // key
        var sameChunk = Row(chunk) == Col(chunk);
        var textKey = Col(isMemory.logical_not());
        var memoryKey = Col(isMemory);
        var earlierText = textKey & (Col(contextIndex) <= Row(contextIndex));
        var earlierMemory = memoryKey & (Col(memoryIndex) <= Row(memoryIndex));

        // Text never reads memory tokens; it reads earlier text, within its chunk unless the policy keeps full causality.
        var textQuery = policy is MaskPolicy.Global or MaskPolicy.PicCausalText ? earlierText : earlierText & sameChunk;
        var memoryQuery = policy switch
        {
            MaskPolicy.Global => textKey | earlierMemory,
            MaskPolicy.Pic or MaskPolicy.PicCausalText => (textKey | earlierMemory) & sameChunk,
            MaskPolicy.PicRecurrent => (textKey & sameChunk) | earlierMemory,
            _ => throw new ArgumentOutOfRangeException(nameof(policy)),
        };
        return where(Row(isMemory), memoryQuery, textQuery).MoveToOuterDisposeScope();
    }
}
