using System.CommandLine;

namespace PicSharp.Cli;

/// <summary>Every top-level `pic` command. Each command group lives in its own file under Commands/.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        Commands.TokenizerCommands.Create(),
        Commands.DataCommands.Create(),
        Commands.EvalLmCommand.Create(),
        Commands.DemoCommand.Create(),
    ];
}
