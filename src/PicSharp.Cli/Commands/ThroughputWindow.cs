namespace PicSharp.Cli.Commands;

/// <summary>Speed over the last few optimizer steps (the first steps of a run are slower), for progress lines.</summary>
sealed class ThroughputWindow
{
    const int Steps = 20;
    readonly Queue<(long Tokens, double Seconds)> recent = new();

    public void Add(long tokens, double seconds)
    {
        recent.Enqueue((tokens, seconds));
        if (recent.Count > Steps) recent.Dequeue();
    }

    public double TokensPerSecond => recent.Count == 0 ? 0 : recent.Sum(s => s.Tokens) / recent.Sum(s => s.Seconds);
    public double SecondsPerStep => recent.Count == 0 ? 0 : recent.Average(s => s.Seconds);

    /// <summary>Time the remaining steps take at the recent pace, as hh:mm:ss ("?" before the first step).</summary>
    public string Eta(int stepsLeft) =>
        recent.Count == 0 ? "?" : TimeSpan.FromSeconds(stepsLeft * SecondsPerStep).ToString(@"hh\:mm\:ss");
}
