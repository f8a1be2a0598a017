using System.CommandLine;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `--threads` of every command that runs a model: torch's CPU thread count, one default (all of the machine's cores)
/// and one bound (no more threads than cores: oversubscribed, a one-second run did not finish in 300 s).
/// </summary>
static class TorchThreads
{
    static int Cores => Environment.ProcessorCount;

    public static Option<int> Option() => new("--threads")
    {
        Description = $"CPU threads for torch, 1 to this machine's {Cores} cores (default: all)",
        DefaultValueFactory = _ => Cores,
    };

    /// <summary>Checks the count against the machine's cores, then sets it; call it before any work.</summary>
    public static void Set(int threads)
    {
        if (threads < 1 || threads > Cores)
            throw new InvalidInputException($"--threads must be between 1 and {Cores} (this machine's cores), got {threads}");
        set_num_threads(threads);
    }
}
