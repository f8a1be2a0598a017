namespace PicSharp.Cli.Benchmarks;

/// <summary>
/// This process's resident memory from /proc/self/status (Linux): native tensors are invisible to the GC, so RSS is
/// what tells how much memory a load or a forward really takes.
/// </summary>
public static class ProcessMemory
{
    const string Status = "/proc/self/status";

    public static bool Available => File.Exists(Status);

    /// <summary>VmRSS: resident bytes now.</summary>
    public static long ResidentBytes() => Read("VmRSS:");

    /// <summary>VmHWM: the most resident bytes since the process started or since <see cref="ResetPeak"/>.</summary>
    public static long PeakResidentBytes() => Read("VmHWM:");

    /// <summary>Starts a new peak from the current RSS (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0).</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    static long Read(string key)
    {
        if (!Available) throw new PlatformNotSupportedException($"memory measurements need {Status} (Linux)");
        string line = File.ReadLines(Status).First(l => l.StartsWith(key));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024; // reported in kB
    }
}
