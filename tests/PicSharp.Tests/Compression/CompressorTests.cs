using PicSharp.Compression;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

public class CompressorTests
{
    const int Vocab = 61;

    /// <summary>A compressor over a tiny model whose LoRA B matrices are random, so adapters matter.</summary>
    static Compressor Create(CompressorOptions options, ulong seed = 1)
    {
        var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), options, seed);
        using (no_grad())
        {
            var generator = new Generator(seed + 100);
            foreach (var (name, p) in compressor.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.05, generator);
        }
        return compressor;
    }

    static int[] Tokens(int length, int seed) => new Random(seed).GetItems(Enumerable.Range(3, Vocab - 3).ToArray(), length);

    static CompressorOptions Options(MaskPolicy policy = MaskPolicy.Pic, bool fast = false,
        MemoryPlacement placement = MemoryPlacement.Interleaved, MemoryKind kind = MemoryKind.Embeddings) =>
        new() { Ratio = 4, ChunkLength = 8, Policy = policy, FastPath = fast, Placement = placement, Kind = kind, Lora = new() { Rank = 4 } };

    /// <summary>Each chunk compressed alone: [its text][its memory tokens], causal, the layout's positions.</summary>
    static Tensor CompressChunkByChunk(Compressor compressor, int[] context)
    {
        var layout = compressor.Layout(context.Length);
        var blocks = new List<Tensor>();
        using var adapters = compressor.Model.UseAdapter(compressor.AdapterName);
        foreach (var chunk in layout.Chunks)
        {
            var text = compressor.Model.Embed(tensor(context[chunk.Start..(chunk.Start + chunk.Length)].Select(t => (long)t).ToArray()));
            var memory = compressor.MemoryTokens[..chunk.MemoryCount];
            var slots = layout.Sequence.Where(s => s.Chunk == chunk.Index).OrderBy(s => s.IsMemory).ToList();
            var positions = tensor(slots.Select(s => s.Position).ToArray()).unsqueeze(0);
            var hidden = compressor.Model.Forward(cat([text, memory], dim: 0).unsqueeze(0), positions);
            blocks.Add(hidden[0, chunk.Length..]);
        }
        return cat(blocks, dim: 0);
    }

    [Theory]
    [InlineData(MemoryPlacement.Interleaved)]
    [InlineData(MemoryPlacement.Appended)]
    public void Pic_parallel_pass_equals_compressing_each_chunk_alone(MemoryPlacement placement)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = Create(Options(placement: placement));
        var context = Tokens(29, seed: 2);
        var parallel = compressor.Compress([context]).Embeddings![0];
        var loop = CompressChunkByChunk(compressor, context);
        Assert.Equal(loop.shape, parallel.shape);
        Assert.True(TinyModels.MaxAbsDiff(parallel, loop) <= 1e-4, $"max diff {TinyModels.MaxAbsDiff(parallel, loop)}");
    }

    [Theory]
    [InlineData(MaskPolicy.Pic, MemoryKind.Embeddings)]
    [InlineData(MaskPolicy.Pic, MemoryKind.KeyValues)]
    [InlineData(MaskPolicy.Global, MemoryKind.Embeddings)]
    [InlineData(MaskPolicy.Global, MemoryKind.KeyValues)]
    public void Fast_path_equals_mask_path(MaskPolicy policy, MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var masked = Create(Options(policy, fast: false, kind: kind));
        var fast = Create(Options(policy, fast: true, kind: kind));
        IReadOnlyList<int>[] contexts = [Tokens(29, 3), Tokens(8, 4), Tokens(17, 5)];
        var a = masked.Compress(contexts);
        var b = fast.Compress(contexts);
        Assert.Equal(a.Counts, b.Counts);
        if (kind == MemoryKind.Embeddings)
            Assert.True(TinyModels.MaxAbsDiff(a.Embeddings!, b.Embeddings!) <= 1e-5);
        else
            for (int layer = 0; layer < a.KeyValues!.Count; layer++)
            {
                Assert.True(TinyModels.MaxAbsDiff(a.KeyValues[layer].Keys, b.KeyValues![layer].Keys) <= 1e-5);
                Assert.True(TinyModels.MaxAbsDiff(a.KeyValues[layer].Values, b.KeyValues[layer].Values) <= 1e-5);
            }
    }

    [Theory]
    [InlineData(MaskPolicy.Pic, false)]
    [InlineData(MaskPolicy.Pic, true)]
    [InlineData(MaskPolicy.Global, false)]
    [InlineData(MaskPolicy.Global, true)]
    [InlineData(MaskPolicy.PicRecurrent, false)]
    public void Padding_in_a_batch_changes_nothing(MaskPolicy policy, bool fast)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = Create(Options(policy, fast));
        var longer = Tokens(30, 6);
        var shorter = Tokens(11, 7);
        var batch = compressor.Compress([longer, shorter]);
        var alone = compressor.Compress([shorter]);
        Assert.Equal(3, batch.Counts[1]);
        Assert.True(TinyModels.MaxAbsDiff(batch.Row(1).Embeddings!, alone.Embeddings!) <= 1e-5);
        Assert.True(TinyModels.MaxAbsDiff(batch.Row(0).Embeddings!, compressor.Compress([longer]).Embeddings!) <= 1e-5);
        Assert.Equal(0, batch.Embeddings![1, 3..].abs().max().item<float>());
    }

    /// <summary>How much each memory block moves when one token of chunk `changedChunk` changes.</summary>
    static double[] BlockChanges(MaskPolicy policy, bool fast, int changedChunk)
    {
        var compressor = Create(Options(policy, fast));
        var context = Tokens(32, 8);
        var perturbed = (int[])context.Clone();
        int at = changedChunk * 8 + 3;
        perturbed[at] = perturbed[at] == 3 ? 4 : 3;
        var a = compressor.Compress([context]).Embeddings![0];
        var b = compressor.Compress([perturbed]).Embeddings![0];
        return Enumerable.Range(0, 4).Select(block => TinyModels.MaxAbsDiff(a[(block * 2)..(block * 2 + 2)], b[(block * 2)..(block * 2 + 2)])).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Under_pic_a_token_outside_chunk_b_never_reaches_memory_block_b(bool fast)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int changed = 0; changed < 4; changed++)
        {
            var changes = BlockChanges(MaskPolicy.Pic, fast, changed);
            for (int block = 0; block < 4; block++)
                if (block == changed) Assert.True(changes[block] > 1e-4, $"block {block} should move");
                else Assert.True(changes[block] == 0, $"block {block} moved by {changes[block]} after a change in chunk {changed}");
        }
    }

    [Fact]
    public void Under_global_every_memory_block_sees_every_chunk()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var changes = BlockChanges(MaskPolicy.Global, false, changedChunk: 3);
        Assert.All(changes, c => Assert.True(c > 1e-4));
    }

    [Theory]
    [InlineData(MaskPolicy.PicCausalText)]
    [InlineData(MaskPolicy.PicRecurrent)]
    public void Ablations_see_earlier_chunks_but_never_later_ones(MaskPolicy policy)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var changes = BlockChanges(policy, false, changedChunk: 1);
        Assert.Equal(0, changes[0]);
        Assert.All(changes[1..], c => Assert.True(c > 1e-4));
    }

    [Theory]
    [InlineData(21)]
    [InlineData(24)]
    public void Appending_text_reuses_earlier_blocks_bit_for_bit_and_matches_full_compression(int firstLength)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = Create(Options(fast: true));
        var full = Tokens(45, 9);
        var first = compressor.Compress([full[..firstLength]]);
        var extended = compressor.Extend(first, full);
        int kept = firstLength / 8 * 2;
        Assert.Equal(0, TinyModels.MaxAbsDiff(first.Embeddings![.., ..kept], extended.Embeddings![.., ..kept])); // reused, not recomputed
        var recompressed = compressor.Compress([full]);
        Assert.Equal(recompressed.Counts, extended.Counts);
        Assert.True(TinyModels.MaxAbsDiff(recompressed.Embeddings!, extended.Embeddings!) <= 1e-4);
    }

    [Fact]
    public void Extend_refuses_other_policies_and_shorter_contexts()
    {
        using var _ = no_grad();
        var global = Create(Options(MaskPolicy.Global));
        var memory = global.Compress([Tokens(10, 1)]);
        Assert.Contains("'pic' policy", Assert.Throws<InvalidOperationException>(() => global.Extend(memory, Tokens(20, 1))).Message);
        var pic = Create(Options());
        Assert.Contains("shorter", Assert.Throws<ArgumentException>(() => pic.Extend(pic.Compress([Tokens(10, 1)]), Tokens(5, 1))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => pic.Compress([Array.Empty<int>()])).Message);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings, MaskPolicy.Pic)]
    [InlineData(MemoryKind.KeyValues, MaskPolicy.Pic)]
    [InlineData(MemoryKind.Embeddings, MaskPolicy.Global)]
    public void Decoder_loss_is_the_same_for_a_batch_and_for_its_rows_alone(MemoryKind kind, MaskPolicy policy)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = Create(Options(policy, fast: true, kind: kind));
        var decoder = new MemoryDecoder(compressor);
        int[] a = Tokens(20, 1), b = Tokens(7, 2);
        var memory = compressor.Compress([a, b]);
        DecoderExample[] examples = [new(TaskToken.Autoencode, [], a), new(TaskToken.Answer, [5, 6], [7, 8, 9])];
        var batchLoss = decoder.Loss(memory, examples).Mean.item<float>();
        var lossA = decoder.Loss(memory.Row(0), [examples[0]]).Mean.item<float>();
        var lossB = decoder.Loss(memory.Row(1), [examples[1]]).Mean.item<float>();
        // Token-weighted mean of the two rows.
        Assert.Equal((lossA * 20 + lossB * 3) / 23, batchLoss, 4);
    }

    [Fact]
    public void A_chunk_longer_than_the_model_positions_is_refused_with_the_numbers()
    {
        using var model = TinyModels.Create(TinyModels.Config()); // 512 positions
        var error = Assert.Throws<InvalidInputException>(() => new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 100_000 }));
        Assert.Contains("chunk length 100000 and its 25000 memory tokens need 125000 positions, but the model has 512", error.Message);
        Assert.Throws<InvalidInputException>(() => new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 512 })); // 512 + 128
        using var fits = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 408 }); // 408 + 102 = 510
    }
}
