using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

/// <summary>What a benchmark ran on, printed with the numbers and written into their JSON.</summary>
public sealed record MachineDescription(string Date, string Cpu, int LogicalCores, int TorchThreads, string Runtime, string TorchSharp, string ThreadWait)
{
    public static MachineDescription Current() => new(
        DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"),
        CpuModel(),
        Environment.ProcessorCount,
        get_num_threads(),
        RuntimeInformation.FrameworkDescription,
        typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown",
        OpenMpWaitPolicy.Description);

    static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!File.Exists(cpuInfo)) return RuntimeInformation.ProcessArchitecture.ToString();
        string? line = File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name"));
        return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':') + 1)..].Trim();
    }

    /// <summary>MemAvailable from /proc/meminfo, or null where there is none.</summary>
    public static long? AvailableMemoryBytes()
    {
        const string memInfo = "/proc/meminfo";
        if (!File.Exists(memInfo)) return null;
        string? line = File.ReadLines(memInfo).FirstOrDefault(l => l.StartsWith("MemAvailable:"));
        if (line is null) return null;
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024; // reported in kB
    }
}
