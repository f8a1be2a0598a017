using PicSharp.Compression;
using PicSharp.CompressorTraining;
using static TorchSharp.torch;

namespace PicSharp.Tests.CompressorTraining;

public class DecoderScoreTests
{
    // Targets of 1 to 7 tokens, so batches of two hold different numbers of scored tokens.
    static readonly IReadOnlyList<CompressorExample> Examples = Enumerable.Range(0, 5)
        .Select(e => new CompressorExample(
            Enumerable.Range(0, 9 + e).Select(i => 3 + (e * 11 + i * 7) % 57).ToArray(),
            new DecoderExample(TaskToken.Answer, [20 + e], Enumerable.Range(0, new[] { 1, 5, 2, 7, 3 }[e]).Select(i => 4 + (e + i * 3) % 50).ToArray())))
        .ToList();

    [Fact]
    public void Batches_are_weighted_by_their_tokens_as_if_all_examples_were_one_batch()
    {
        using var model = TinyModels.Create(TinyModels.Config() with { InitializerRange = 0.25 });
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8 }, seed: 2);
        var decoder = new MemoryDecoder(compressor);
        var batched = DecoderScore.Over(decoder, Examples, batchSize: 2, compressor.Compress);
        var shifted = DecoderScore.Over(decoder, Examples, batchSize: 5, compressor.Compress, shift: true);

        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var memory = compressor.Compress(Examples.Select(e => e.Context).ToList());
        var decoderExamples = Examples.Select(e => e.Decoder).ToList();
        var whole = decoder.Loss(memory, decoderExamples);
        var rotated = decoder.Loss(memory, decoderExamples, memoryRows: [1, 2, 3, 4, 0]);

        Assert.Equal(18, batched.Tokens);
        Assert.Equal(whole.Mean.item<float>(), batched.Loss, 5);
        Assert.Equal(whole.Accuracy, batched.Accuracy);
        Assert.Equal(rotated.Mean.item<float>(), shifted.Loss, 5);
        Assert.Equal(rotated.Accuracy, shifted.Accuracy);
        Assert.NotEqual(batched.Loss, shifted.Loss, 3);
        Assert.Equal(new DecoderScore(double.NaN, double.NaN, 0), DecoderScore.Over(decoder, [], batchSize: 2, compressor.Compress));
    }
}
