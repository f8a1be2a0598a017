using PicSharp.Compression;
using static TorchSharp.torch;

namespace PicSharp.CompressorTraining;

/// <summary>Teacher-forced decoder loss and token accuracy on held-out examples.</summary>
public sealed record DecoderScore(double Loss, double Accuracy, long Tokens)
{
    /// <summary>
    /// The frozen decoder's score on examples, without gradients, a batch at a time: each batch's contexts make one
    /// memory, and each example's target is read from its own context's memory or, with <paramref name="shift"/>, from
    /// that of the next example in its batch (the last from the first's). The loss is the mean over all target tokens,
    /// each batch's mean weighted by its tokens; no examples score (NaN, NaN, 0).
    /// </summary>
    /// <param name="memoryOf">the memory of a batch's contexts, row i that of context i.</param>
    public static DecoderScore Over(MemoryDecoder decoder, IReadOnlyList<CompressorExample> examples, int batchSize,
        Func<IReadOnlyList<IReadOnlyList<int>>, CompressedMemory> memoryOf, bool shift = false)
    {
        if (examples.Count == 0) return new DecoderScore(double.NaN, double.NaN, 0);
        using var _ = no_grad();
        double lossSum = 0;
        long correct = 0, count = 0;
        foreach (var batch in examples.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            using var memory = memoryOf(batch.Select(e => e.Context).ToList());
            var rows = shift ? Enumerable.Range(0, batch.Length).Select(i => (i + 1) % batch.Length).ToList() : null;
            using var result = decoder.Loss(memory, batch.Select(e => e.Decoder).ToList(), rows);
            lossSum += result.Mean.item<float>() * result.Tokens;
            correct += result.Correct;
            count += result.Tokens;
        }
        return new DecoderScore(lossSum / count, (double)correct / count, count);
    }
}
