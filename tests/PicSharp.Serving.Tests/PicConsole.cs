using System.CommandLine;

namespace PicSharp.Serving.Tests;

/// <summary>Runs `pic` commands in-process with the console captured. One lock for every test of this assembly that
/// swaps Console.Out, since tests run in parallel and a line written under another test's capture lands in its output.</summary>
static class PicConsole
{
    static readonly Lock ConsoleLock = new();

    public static (int ExitCode, string Output, string Error) Run(IEnumerable<Command> commands, params string[] args)
    {
        var root = new RootCommand();
        foreach (var command in commands) root.Subcommands.Add(command);
        lock (ConsoleLock)
        {
            var (previousOut, previousError) = (Console.Out, Console.Error);
            var (output, error) = (new StringWriter(), new StringWriter());
            Console.SetOut(output);
            Console.SetError(error);
            try { return (root.Parse(args).Invoke(), output.ToString(), error.ToString()); }
            finally { Console.SetOut(previousOut); Console.SetError(previousError); }
        }
    }
}
