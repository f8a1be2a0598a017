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
        ExperimentsReportCommand.Create(),
        MemoryBoundsCommand.Create(),
        EvalLmCommand.Create(),
        InitCompressorCommand.Create(),
        .. MemoryCommands.Create(),
        ServeCommand.Create(),
        BenchCommands.Create(),
    ];
}
