using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>`pic-lab replica-crash`: two `pic serve` replicas on one PostgreSQL store, one killed under load (<see cref="ReplicaDrill"/>).</summary>
static class ReplicaCrashCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "PostgreSQL address both replicas share (postgres://... or Host=...;Database=...)", Required = true };
        var clients = new Option<int>("--clients") { Description = "concurrent create streams", DefaultValueFactory = _ => 8 };
        var killAfter = new Option<int>("--kill-after") { Description = "acknowledged creates before the first replica is killed", DefaultValueFactory = _ => 40 };
        var command = new Command("replica-crash", "kill -9 drill of replicas: creates stream at one `pic serve`, it is killed, the other must serve every acknowledged memory")
        { engine.Model, engine.Compressor, store, clients, killAfter };
        command.SetAction(parse => CommandErrors.Run("pic-lab replica-crash", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new ReplicaDrillOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor,
                parse.GetValue(store)!, parse.GetValue(clients), parse.GetValue(killAfter));
            var result = ReplicaDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult();
            return result.MissingOnSurvivor == 0 && result.SurvivorAnswered ? 0 : 2;
        }));
        return command;
    }
}
