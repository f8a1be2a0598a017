using System.CommandLine;

namespace PicSharp.Lab;

/// <summary>Every `pic-lab` command.</summary>
public static class LabCommands
{
    public static IEnumerable<Command> All() => [ExperimentsReportCommand.Create(), ServeCrashCommand.Create(), ReplicaCrashCommand.Create(), WorkerDrillCommand.WorkerCrash(), WorkerDrillCommand.BrokerRestart(), StoreRestartCommand.Create()];
}
