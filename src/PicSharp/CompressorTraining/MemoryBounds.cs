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
        var own = Reconstructions(windows, windows);
        var fromNext = Reconstructions(windows, windows.Skip(1).Append(windows[0]).ToList());
        return new MemoryBoundsResult(
            DecoderScore.Over(decoder, own, batchSize, batch => EmbeddedWindows(batch, ids => zeros(ids.shape[0], 0, model.Config.HiddenSize, dtype: model.Dtype))),
            DecoderScore.Over(decoder, own, batchSize, batch => EmbeddedWindows(batch, model.Embed)),
            measureCompressor ? DecoderScore.Over(decoder, own, batchSize, compressor.Compress) : null,
            measureCompressor && windows.Count > 1 ? DecoderScore.Over(decoder, fromNext, batchSize, compressor.Compress) : null);
    }

    // Each of targets reconstructed from the memory of the same index of sources.
    static List<CompressorExample> Reconstructions(IReadOnlyList<int[]> targets, IReadOnlyList<int[]> sources) =>
        targets.Zip(sources, (target, source) => new CompressorExample(source, new DecoderExample(TaskToken.Autoencode, [], target))).ToList();

    // The windows' embeddings memory: embeddingsOf maps their [batch, length] ids to [batch, slots, hidden], the tokens'
    // own embeddings for the ceiling, zero slots for the floor.
    static CompressedMemory EmbeddedWindows(IReadOnlyList<IReadOnlyList<int>> batch, Func<Tensor, Tensor> embeddingsOf)
    {
        int length = batch[0].Count;
        if (batch.Any(w => w.Count != length)) throw new ArgumentException("held-out windows must share one length");
        var embeddings = embeddingsOf(tensor(batch.SelectMany(w => w.Select(t => (long)t)).ToArray()).reshape(batch.Count, length));
        int slots = (int)embeddings.shape[1];
        return new CompressedMemory(MemoryKind.Embeddings, embeddings, null,
            batch.Select(_ => slots).ToArray(), batch.Select(_ => (long)slots).ToArray(), batch.Select(_ => length).ToArray());
    }
}
