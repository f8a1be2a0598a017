using PicSharp.Compression;
using PicSharp.Serving.Store;
using static TorchSharp.torch;

namespace PicSharp.Serving.Tests;

/// <summary>Recently asked memories stay decoded, within a byte budget, never dropping the latest batch's.</summary>
public sealed class DecodedMemoriesTests
{
    static StoredMemory Stored(int seed)
    {
        var info = new MemoryFileInfo("compressor", "tiny", MemoryKind.Embeddings, MaskPolicy.Pic, 4, 8);
        using var memory = new CompressedMemory(MemoryKind.Embeddings, full(1, 2, 4, (float)seed), null, [2], [2], [8]);
        return StoredMemory.Of(memory, info, Enumerable.Range(seed, 8).ToArray(), DateTimeOffset.UtcNow);
    }

    [Fact]
    public void A_memory_is_decoded_once_and_the_least_recently_used_goes_first_beyond_the_budget()
    {
        var (a, b, c) = (Stored(1), Stored(2), Stored(3));
        int decodes = 0;
        LoadedMemory Decode(StoredMemory s) { decodes++; return s.Decode("compressor", null); }
        // Room for two memories' bytes; at least one (the batch being answered) is always kept.
        using var cache = new DecodedMemories(maxBytes: 2 * a.File.Length, keepAtLeast: 1);

        var first = cache.Get(a, Decode);
        Assert.Same(first, cache.Get(a, Decode));
        Assert.Equal(1, decodes);
        cache.Get(b, Decode);
        cache.Get(a, Decode); // a is now the most recent
        cache.Get(c, Decode); // over budget: b goes, a stays
        Assert.Equal(3, decodes);
        Assert.True(cache.Contains(a.Record.Id));
        Assert.False(cache.Contains(b.Record.Id));
        Assert.True(cache.Contains(c.Record.Id));
        Assert.Equal(1f, first.Memory.Embeddings![0, 0, 0].item<float>()); // still alive

        using var tight = new DecodedMemories(maxBytes: 1, keepAtLeast: 2); // a batch of two stays decoded together
        var x = tight.Get(a, Decode);
        var y = tight.Get(b, Decode);
        Assert.Equal((1f, 2f), (x.Memory.Embeddings![0, 0, 0].item<float>(), y.Memory.Embeddings![0, 0, 0].item<float>()));
        tight.Get(c, Decode);
        Assert.False(tight.Contains(a.Record.Id));
    }

    [Fact]
    public void A_lent_memory_stays_readable_after_the_cache_drops_its_copy()
    {
        var (a, b) = (Stored(1), Stored(2));
        LoadedMemory Decode(StoredMemory s) => s.Decode("compressor", null);
        var cache = new DecodedMemories(maxBytes: 1, keepAtLeast: 1);
        using var lent = cache.Lend(a, Decode);
        Assert.True(cache.Contains(a.Record.Id));
        using (cache.Lend(b, Decode)) { } // over budget: a's copy is dropped and disposed
        Assert.False(cache.Contains(a.Record.Id));
        cache.Dispose();
        Assert.Equal((MemoryKind.Embeddings, 2, 2L), (lent.Kind, lent.Counts[0], lent.NextPositions[0]));
        Assert.Equal(1f, lent.Embeddings![0, 1, 3].item<float>());
    }
}
