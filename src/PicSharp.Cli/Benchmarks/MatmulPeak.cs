using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

/// <summary>The machine's matmul throughput through TorchSharp: the denominator of model-FLOP utilisation.</summary>
public static class MatmulPeak
{
    public static double GigaFlopsPerSecond(ScalarType dtype, int size, RunPlan plan)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(0);
        var a = randn(size, size, generator: generator).to(dtype);
        var b = randn(size, size, generator: generator).to(dtype);
        var timing = plan.Measure(() =>
        {
            using var inner = NewDisposeScope();
            a.matmul(b);
        });
        return 2.0 * size * size * size / timing.Median / 1e9;
    }
}
