using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Cli;

/// <summary>Every top-level `pic` command. Each command group lives in its own file under Commands/.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        DemoCommand.Create(),
        .. ModelCommands.Create(),
        ExportCommands.Create(),
        TokenizerCommands.Create(),
        DataCommands.Create(),
        PretrainCommands.Create(),
        TrainCompressorCommand.Create(),
        MemoryBoundsCommand.Create(),
        EvalLmCommand.Create(),
        InitCompressorCommand.Create(),
        .. MemoryCommands.Create(),
        ServeCommand.Create(),
        .. BulkCommands.Create(),
        BenchCommands.Create(),
    ];

    /// <summary>How `pic` and `pic-lab` start: how CPU threads wait chosen from the machine's load, then the commands.</summary>
    public static Task<int> InvokeAsync(string description, IEnumerable<Command> commands, string[] args)
    {
        OpenMpWaitPolicy.Choose(); // before anything loads torch's native library
        var root = new RootCommand(description);
        foreach (Command command in commands)
            root.Subcommands.Add(command);
        return root.Parse(args).InvokeAsync();
    }
}
