using PicSharp.Compression;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

/// <summary>A way of running the compressor: a mask policy, and the mask or the fast path (`pic`: chunk rows; `global`: one causal row).</summary>
public sealed record CompressionPath(string Name, MaskPolicy Policy, bool FastPath)
{
    public static IReadOnlyList<CompressionPath> All { get; } =
    [
        new("global mask", MaskPolicy.Global, FastPath: false),
        new("global causal", MaskPolicy.Global, FastPath: true),
        new("pic mask", MaskPolicy.Pic, FastPath: false),
        new("pic fast", MaskPolicy.Pic, FastPath: true),
    ];

    /// <summary>
    /// Rough peak bytes of attention: the mask paths run one row of context + memory tokens under a [seq, seq] mask,
    /// whose scores and softmax (per head) and additive float mask are materialised; `pic`'s fast path only per chunk;
    /// `global`'s causal row counts as a mask path here (an upper bound: fused causal attention may not materialise it).
    /// </summary>
    public long AttentionBytes(int contextLength, CompressorOptions options, ScalarType dtype)
    {
        long Tokens(int length) => length + (length + options.Ratio - 1) / options.Ratio;
        bool chunkRows = FastPath && Policy == MaskPolicy.Pic;
        long rowLength = chunkRows ? Tokens(Math.Min(contextLength, options.ChunkLength)) : Tokens(contextLength);
        long rows = chunkRows ? (contextLength + options.ChunkLength - 1) / options.ChunkLength : 1;
        long elementBytes = dtype == ScalarType.Float32 ? 4 : 2;
        int heads = BenchmarkModels.Reference.NumAttentionHeads;
        return rows * rowLength * rowLength * (elementBytes * (2L * heads + 1) + 1);
    }
}

public sealed record CompressResult(CompressionPath Path, string Dtype, int ContextLength, Timing? Timing, string? SkipReason)
{
    public double? TokensPerSecond => Timing is null ? null : ContextLength / Timing.Median;
}

/// <summary>Context tokens per second of `Compressor.Compress` (no gradients) on the reference model, batch 1.</summary>
public static class CompressBenchmark
{
    public static CompressorOptions Options(CompressionPath path) =>
        new() { Ratio = 4, ChunkLength = 512, Policy = path.Policy, FastPath = path.FastPath };

    /// <summary>Measures every length for one path and dtype on a fresh model.</summary>
    public static IEnumerable<CompressResult> Run(CompressionPath path, ScalarType dtype, IReadOnlyList<int> lengths,
        RunPlan plan, long memoryBudgetBytes)
    {
        string name = ModelFolder.TorchDtypeName(dtype);
        var options = Options(path);
        using var model = BenchmarkModels.Create(dtype);
        model.eval();
        using var compressor = new Compressor(model, options);
        bool warmedUp = false;
        foreach (int length in lengths)
        {
            long bytes = path.AttentionBytes(length, options, dtype);
            if (bytes > memoryBudgetBytes)
            {
                yield return new CompressResult(path, name, length, null,
                    $"needs ~{bytes / 1e9:F1} GB for attention, budget {memoryBudgetBytes / 1e9:F1} GB");
                continue;
            }
            var context = BenchmarkModels.RandomTokens(1, length)[0].data<long>().Select(t => (int)t).ToList();
            // One warm-up per model (first-call allocations); shapes differ per length anyway.
            var lengthPlan = warmedUp ? plan with { Warmup = 0 } : plan;
            warmedUp = true;
            var timing = lengthPlan.Measure(() =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                using var memory = compressor.Compress([context]);
            });
            yield return new CompressResult(path, name, length, timing, null);
        }
    }

    /// <summary>
    /// Growth of time with length between consecutive measured lengths: the exponent e in time ∝ length^e
    /// (1 = linear, 2 = quadratic) and the implied time(2L)/time(L) = 2^e.
    /// </summary>
    public static IEnumerable<(int From, int To, double Exponent, double DoublingRatio)> Scaling(IReadOnlyList<CompressResult> results)
    {
        var measured = results.Where(r => r.Timing is not null).OrderBy(r => r.ContextLength).ToList();
        for (int i = 1; i < measured.Count; i++)
        {
            double exponent = Math.Log(measured[i].Timing!.Median / measured[i - 1].Timing!.Median)
                / Math.Log((double)measured[i].ContextLength / measured[i - 1].ContextLength);
            yield return (measured[i - 1].ContextLength, measured[i].ContextLength, exponent, Math.Pow(2, exponent));
        }
    }
}
