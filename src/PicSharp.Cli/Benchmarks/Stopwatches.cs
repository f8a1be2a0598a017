using System.Diagnostics;

namespace PicSharp.Cli.Benchmarks;

/// <summary>Wall-clock seconds of the measured runs of one workload.</summary>
public sealed record Timing(IReadOnlyList<double> Seconds)
{
    public double Median
    {
        get
        {
            var sorted = Seconds.Order().ToArray();
            int mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }
}

/// <summary>How often to run a workload: warm-up runs (not timed), then timed runs until the count or the time budget is reached.</summary>
public sealed record RunPlan(int Warmup, int Runs, double BudgetSeconds)
{
    /// <summary>Runs <paramref name="setup"/> untimed before each run, then times <paramref name="run"/>.</summary>
    public Timing Measure(Action run, Action? setup = null)
    {
        for (int i = 0; i < Warmup; i++)
        {
            setup?.Invoke();
            run();
        }
        var seconds = new List<double>();
        while (seconds.Count < Runs && (seconds.Count == 0 || seconds.Sum() < BudgetSeconds))
        {
            setup?.Invoke();
            var watch = Stopwatch.StartNew();
            run();
            seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return new Timing(seconds);
    }
}
