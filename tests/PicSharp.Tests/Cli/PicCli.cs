using System.CommandLine;
using PicSharp.Cli;

namespace PicSharp.Tests.Cli;

/// <summary>Runs `pic` (or `pic-lab`) in this process with every command, capturing what it prints.</summary>
static class PicCli
{
    public sealed record Result(int ExitCode, string Output, string Error);

    // Console.Out/Error are process-wide: one command at a time, so tests running in parallel do not swap them.
    internal static readonly Lock ConsoleLock = new();

    /// <summary>The arguments of <paramref name="defaults"/> (option, value pairs) that <paramref name="given"/> does not
    /// set, followed by <paramref name="given"/>: a test states only what it changes.</summary>
    public static string[] WithDefaults(string[] defaults, string[] given) =>
        [.. defaults.Chunk(2).Where(pair => !given.Contains(pair[0])).SelectMany(pair => pair), .. given];

    public static Result Run(params string[] args) => Run(CommandCatalog.All(), args);

    /// <summary>Runs `pic-lab` the same way.</summary>
    public static Result RunLab(params string[] args) => Run(PicSharp.Lab.LabCommands.All(), args);

    static Result Run(IEnumerable<Command> commands, string[] args)
    {
        var root = new RootCommand();
        foreach (var command in commands) root.Subcommands.Add(command);
        lock (ConsoleLock)
        {
            var (previousOut, previousError) = (Console.Out, Console.Error);
            int torchThreads = TorchSharp.torch.get_num_threads(); // commands set --threads (default: all cores); tests keep theirs
            var (output, error) = (new StringWriter(), new StringWriter());
            Console.SetOut(output);
            Console.SetError(error);
            try { return new Result(root.Parse(args).Invoke(), output.ToString(), error.ToString()); }
            finally
            {
                Console.SetOut(previousOut);
                Console.SetError(previousError);
                TorchSharp.torch.set_num_threads(torchThreads);
            }
        }
    }
}
