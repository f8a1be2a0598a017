using System.CommandLine;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `--threads` of every command that runs a model: one CPU thread count for TorchSharp and, under `--engine llamacpp`,
/// llama.cpp. One default (all of the machine's cores) and one bound (no more threads than cores: oversubscribed, a
/// one-second run did not finish in 300 s). The two engines never compute at once (a memory is compressed, then
/// read), and they share one OpenMP runtime whose wait is chosen at start (<see cref="OpenMpWaitPolicy"/>).
/// </summary>
static class CpuThreads
{
    static int Cores => Environment.ProcessorCount;

    public static Option<int> Option() => new("--threads")
    {
        Description = $"CPU threads for torch and llama.cpp, 1 to this machine's {Cores} cores (default: all)",
        DefaultValueFactory = _ => Cores,
    };

    /// <summary>Checks the count against the machine's cores, then sets torch's; call it before any work. Returns the
    /// count, which the llama.cpp engine is given too.</summary>
    public static int Set(int threads)
    {
        if (threads < 1 || threads > Cores)
            throw new InvalidInputException($"--threads must be between 1 and {Cores} (this machine's cores), got {threads}");
        set_num_threads(threads);
        return threads;
    }
}
