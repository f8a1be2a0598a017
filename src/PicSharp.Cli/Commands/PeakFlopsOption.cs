using System.CommandLine;
using PicSharp.Cli.Benchmarks;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `--peak-gflops` of the training commands: the matmul throughput their MFU is measured against. By default it is
/// measured at the start exactly as `pic bench forward` measures its peak (2048² matmuls in the compute dtype,
/// median), so a run's MFU compares with the benchmark's; give the benchmark's number to skip that, or to judge a
/// run on a busy machine against a quiet machine's peak.
/// </summary>
static class PeakFlopsOption
{
    public static Option<double?> Create() => new("--peak-gflops")
    {
        Description = "matmul GFLOP/s of this machine in the compute dtype, the denominator of the reported MFU (default: measured at start as `pic bench forward` does)",
    };

    public static void Check(double? given)
    {
        if (given is <= 0) throw new InvalidInputException($"--peak-gflops must be positive, got {given}");
    }

    /// <summary>FLOP/s: the given peak, or one measured now; the log line says which.</summary>
    public static double FlopsPerSecond(double? given, ScalarType dtype, Action<string> log)
    {
        double gigaFlops = given ?? MatmulPeak.GigaFlopsPerSecond(dtype, 2048, new RunPlan(Warmup: 1, Runs: 10, BudgetSeconds: 5));
        log($"MFU against a matmul peak of {gigaFlops:F1} GFLOP/s in {ModelFolder.TorchDtypeName(dtype)} ({(given is null ? "measured now, 2048² matmuls" : "--peak-gflops")})");
        return gigaFlops * 1e9;
    }

    /// <summary>The progress line's throughput words for one step.</summary>
    public static string Describe(double flops, double seconds, double peak) => $"{flops / seconds / 1e9:F1} GFLOP/s MFU {flops / seconds / peak:P1}";
}
