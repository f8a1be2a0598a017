using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public class KvCacheTests
{
    [Fact]
    public void Appends_written_in_place_equal_concatenation_also_when_the_buffer_grows()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(layers: 2, capacity: 3);
        var pieces = Enumerable.Range(0, 6).Select(i => randn(2, 3, i % 3 + 1, 4, generator: new Generator((ulong)i))).ToList();
        foreach (var piece in pieces)
            for (int layer = 0; layer < 2; layer++)
                cache.Append(layer, piece, piece * (layer + 1));

        var expected = cat(pieces, dim: 2);
        Assert.Equal(expected.shape[2], cache.Length);
        Assert.True(cache.Capacity >= cache.Length && cache.Capacity > 3);
        Assert.True(TinyModels.MaxAbsDiff(expected, cache.Keys(0)) == 0);
        Assert.True(TinyModels.MaxAbsDiff(expected * 2, cache.Values(1)) == 0);
    }

    [Fact]
    public void A_view_handed_out_earlier_keeps_its_tokens_after_later_appends()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(layers: 1, capacity: 8);
        var first = ones(1, 1, 2, 4);
        var (keys, _) = cache.Append(0, first, first);
        cache.Append(0, zeros(1, 1, 3, 4), zeros(1, 1, 3, 4));
        Assert.Equal(2, keys.shape[2]);
        Assert.True(TinyModels.MaxAbsDiff(keys, first) == 0);
        Assert.Equal(8, cache.Capacity); // room given up front: no growth
    }
}
