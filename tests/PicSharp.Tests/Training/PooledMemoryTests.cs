using PicSharp.Compression;
using PicSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Training;

public class PooledMemoryTests
{
    [Fact]
    public void Each_slot_is_the_mean_embedding_of_its_tokens_in_the_compressors_layout()
    {
        using var model = TrainingFixtures.Model();
        var options = new CompressorOptions { Ratio = 4, ChunkLength = 8, Lora = new LoraOptions { TargetModules = [] } };
        using var compressor = new Compressor(model, options);
        // 13 tokens: chunks of 8 and 5, so slots of 4, 4, 4 and a last one of a single token; 6 tokens: 4 and 2.
        IReadOnlyList<int>[] contexts = [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]];
        using var _ = no_grad();
        using var pooled = PooledMemory.Of(compressor, contexts);
        using var compressed = compressor.Compress(contexts);

        Assert.Equal(compressed.Counts, pooled.Counts);
        Assert.Equal(compressed.NextPositions, pooled.NextPositions);
        Assert.Equal(compressed.ContextLengths, pooled.ContextLengths);
        Tensor Mean(params int[] ids) => model.Embed(tensor(ids.Select(i => (long)i).ToArray())).mean([0]);
        var expected = new (int Row, int Slot, int[] Ids)[]
        {
            (0, 0, [5, 6, 7, 8]), (0, 1, [9, 10, 11, 12]), (0, 2, [13, 14, 15, 16]), (0, 3, [17]),
            (1, 0, [18, 19, 20, 21]), (1, 1, [22, 23]),
        };
        foreach (var (row, slot, ids) in expected)
            Assert.True(pooled.Embeddings![row, slot].allclose(Mean(ids), rtol: 1e-5, atol: 1e-6), $"row {row} slot {slot}");
    }

    [Fact]
    public void Gradient_reaches_the_embeddings_of_the_pooled_tokens_only()
    {
        using var model = TrainingFixtures.Model();
        foreach (var parameter in model.parameters()) parameter.requires_grad = true;
        var options = new CompressorOptions { Ratio = 2, ChunkLength = 4, Lora = new LoraOptions { TargetModules = [] } };
        using var compressor = new Compressor(model, options);
        foreach (var parameter in model.parameters()) parameter.requires_grad = true;
        using var pooled = PooledMemory.Of(compressor, [[5, 6, 7]]);
        pooled.Embeddings!.sum().backward();
        var grad = model.Body.EmbedTokens.weight!.grad!;
        var touched = Enumerable.Range(0, (int)grad.shape[0]).Where(i => grad[i].abs().sum().item<float>() > 0).ToArray();
        Assert.Equal([5, 6, 7], touched);
    }
}
