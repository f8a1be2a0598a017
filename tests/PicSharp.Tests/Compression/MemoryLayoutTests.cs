using PicSharp.Compression;

namespace PicSharp.Tests.Compression;

public class MemoryLayoutTests
{
    [Fact]
    public void Chunks_and_memory_counts_follow_ratio_with_a_ceiling_for_the_last_chunk()
    {
        var layout = new MemoryLayout(contextLength: 21, ratio: 4, chunkLength: 8);
        Assert.Equal([(0, 8, 2), (8, 8, 2), (16, 5, 2)], layout.Chunks.Select(c => (c.Start, c.Length, c.MemoryCount)));
        Assert.Equal(6, layout.MemoryCount);
        Assert.Equal(21 + 6, layout.Sequence.Count);
        Assert.Equal(1, new MemoryLayout(3, 4, 8).MemoryCount);
    }

    [Fact]
    public void Interleaved_puts_memory_after_each_chunk_and_appended_after_the_context()
    {
        var interleaved = new MemoryLayout(8, 2, 4, MemoryPlacement.Interleaved);
        Assert.Equal("tttttmmttttmm".Length - 1, interleaved.Sequence.Count);
        Assert.Equal("ttttmmttttmm", string.Concat(interleaved.Sequence.Select(s => s.IsMemory ? 'm' : 't')));
        var appended = new MemoryLayout(8, 2, 4, MemoryPlacement.Appended);
        Assert.Equal("ttttttttmmmm", string.Concat(appended.Sequence.Select(s => s.IsMemory ? 'm' : 't')));
        Assert.Equal([0, 1, 2, 3], appended.Sequence.Where(s => s.IsMemory).Select(s => s.MemoryIndex));
    }

    [Fact]
    public void Sequential_positions_follow_the_chunk_and_uniform_positions_spread_across_it()
    {
        var sequential = new MemoryLayout(12, 4, 8, positions: MemoryPositions.Sequential);
        Assert.Equal([8L, 9L, 12L], sequential.Sequence.Where(s => s.IsMemory).Select(s => s.Position));
        var uniform = new MemoryLayout(12, 4, 8, positions: MemoryPositions.Uniform);
        Assert.Equal([2L, 6L, 10L], uniform.Sequence.Where(s => s.IsMemory).Select(s => s.Position));
        var icae = new MemoryLayout(12, 4, 8, globalSpan: true);
        Assert.Equal([12L, 13L, 14L], icae.Sequence.Where(s => s.IsMemory).Select(s => s.Position));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), sequential.Sequence.Where(s => !s.IsMemory).Select(s => s.Position));
    }

    [Theory]
    [InlineData(0, 4, 8, "context is empty")]
    [InlineData(10, 0, 8, "ratio must be at least 1")]
    [InlineData(10, 3, 8, "not a multiple of ratio 3")]
    [InlineData(10, 4, 0, "chunk length must be positive")]
    public void Invalid_combinations_are_clear_errors(int length, int ratio, int chunk, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new MemoryLayout(length, ratio, chunk));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Pic_mask_is_block_diagonal_and_global_mask_lets_memory_see_everything()
    {
        var layout = new MemoryLayout(8, 4, 4, MemoryPlacement.Appended);
        var pic = ChunkMask.Build(layout, MaskPolicy.Pic);
        var global = ChunkMask.Build(layout, MaskPolicy.Global);
        // Sequence: text 0..7, memory 8 (chunk 0), memory 9 (chunk 1).
        Assert.True(pic[8, 3].item<bool>());
        Assert.False(pic[8, 4].item<bool>());
        Assert.False(pic[9, 3].item<bool>());
        Assert.False(pic[9, 8].item<bool>());
        Assert.False(pic[5, 2].item<bool>());
        Assert.True(global[8, 7].item<bool>());
        Assert.True(global[9, 8].item<bool>());
        Assert.True(global[5, 2].item<bool>());
        Assert.False(global[3, 8].item<bool>());
        var recurrent = ChunkMask.Build(layout, MaskPolicy.PicRecurrent);
        Assert.True(recurrent[9, 8].item<bool>());
        Assert.False(recurrent[9, 3].item<bool>());
        var causalText = ChunkMask.Build(layout, MaskPolicy.PicCausalText);
        Assert.True(causalText[5, 2].item<bool>());
        Assert.False(causalText[9, 3].item<bool>());
    }
}
