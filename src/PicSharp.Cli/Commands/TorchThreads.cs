using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>`--threads` of every command: torch's CPU thread count, checked before it is set.</summary>
static class TorchThreads
{
    public static void Set(int threads)
    {
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}");
        set_num_threads(threads);
    }
}
