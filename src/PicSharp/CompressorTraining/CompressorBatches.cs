using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>
/// Micro-batches of compressor examples. Row r of micro-batch m at step s is drawn from the stream keyed by
/// (seed, s, m, r) alone, so a resumed run sees exactly the batches it would have seen, and two runs with the same
/// seed and data (say `pic` and `global`) train on the same examples in the same order.
/// </summary>
public sealed class CompressorBatches(ICompressorExampleSource source, long seed)
{
    public IReadOnlyList<CompressorExample> Sample(int step, int microStep, int batchSize) =>
        Enumerable.Range(0, batchSize).Select(r => source.Draw(new CounterRandom(seed, step, microStep, r))).ToList();
}
