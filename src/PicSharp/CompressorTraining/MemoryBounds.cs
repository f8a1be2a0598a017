using PicSharp.Compression;
using static TorchSharp.torch;

namespace PicSharp.CompressorTraining;

/// <summary>The two bounds of autoencoding on one frozen decoder, and a compressor between them, on the same windows.</summary>
/// <param name="Floor">reconstructing each window from no memory at all: what the decoder guesses as a plain LM.</param>
/// <param name="Ceiling">reconstructing it from a lossless memory, the window's own token embeddings (ratio 1).</param>
/// <param name="Compressed">reconstructing it from the compressor's memory of it (when a trained compressor is measured).</param>
/// <param name="OtherWindow">the control of <paramref name="Compressed"/>: reconstructing each window from the memory of
/// the next one. It keeps whatever the compressor learnt that fits every window, so Compressed − OtherWindow is what
/// the memory carries of its own window.</param>
public sealed record MemoryBoundsResult(DecoderScore Floor, DecoderScore Ceiling, DecoderScore? Compressed, DecoderScore? OtherWindow);

/// <summary>
/// Where any compressor over a frozen decoder must land: between the decoder's reconstruction with no memory and its
/// reconstruction when the memory is the text itself. A compressor can only make its memory less informative than the
/// text, so when the ceiling is low the decoder cannot repeat what it reads, and no compressor trained against it can
/// do better — a check to run on a base model before spending hours training compressors on it.
/// </summary>
public static class MemoryBounds
{
    /// <param name="measureCompressor">also score the reconstruction from <paramref name="compressor"/>'s own memory, and
    /// from the next window's memory (the control).</param>
    public static MemoryBoundsResult Measure(Compressor compressor, IReadOnlyList<int[]> windows, int batchSize, bool measureCompressor = false)
    {
        if (windows.Count == 0) throw new ArgumentException("no held-out windows to measure on");
        var decoder = new MemoryDecoder(compressor);
        var model = compressor.Model;
        using var _ = no_grad();
        var next = windows.Skip(1).Append(windows[0]).ToList();
        return new MemoryBoundsResult(
            Score(decoder, windows, batchSize, ids => zeros(ids.shape[0], 0, model.Config.HiddenSize, dtype: model.Dtype)),
            Score(decoder, windows, batchSize, ids => model.Embed(ids)),
            measureCompressor ? Score(decoder, windows, windows, batchSize, compressor.Compress) : null,
            measureCompressor && windows.Count > 1 ? Score(decoder, windows, next, batchSize, compressor.Compress) : null);
    }

    static DecoderScore Score(MemoryDecoder decoder, IReadOnlyList<int[]> windows, int batchSize, Func<Tensor, Tensor> embeddingsOf) =>
        Score(decoder, windows, windows, batchSize, (IReadOnlyList<int[]> batch) =>
        {
            int length = batch[0].Length;
            if (batch.Any(w => w.Length != length)) throw new ArgumentException("held-out windows must share one length");
            var embeddings = embeddingsOf(tensor(batch.SelectMany(w => w.Select(t => (long)t)).ToArray()).reshape(batch.Count, length));
            int slots = (int)embeddings.shape[1];
            return new CompressedMemory(MemoryKind.Embeddings, embeddings, null,
                batch.Select(_ => slots).ToArray(), batch.Select(_ => (long)slots).ToArray(), batch.Select(_ => length).ToArray());
        });

    // Reconstructs each of targets from the memory of the same index of sources.
    static DecoderScore Score(MemoryDecoder decoder, IReadOnlyList<int[]> targets, IReadOnlyList<int[]> sources, int batchSize, Func<IReadOnlyList<int[]>, CompressedMemory> memoryOf)
    {
        double lossSum = 0;
        long correct = 0, count = 0;
        foreach (var (batch, sourceBatch) in targets.Chunk(batchSize).Zip(sources.Chunk(batchSize)))
        {
            using var scope = NewDisposeScope();
            using var memory = memoryOf(sourceBatch);
            using var result = decoder.Loss(memory, batch.Select(w => new DecoderExample(TaskToken.Autoencode, [], w)).ToList());
            lossSum += result.Mean.item<float>() * result.Tokens;
            correct += result.Correct;
            count += result.Tokens;
        }
        return new DecoderScore(lossSum / count, (double)correct / count, count);
    }
}
