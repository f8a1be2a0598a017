using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>`pic-lab store-restart`: the database restarted under a loaded `pic serve` (<see cref="StoreRestartDrill"/>).</summary>
static class StoreRestartCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "PostgreSQL address the service uses", Required = true };
        var restart = new Option<string>("--restart") { Description = "shell command that stops the database and starts it again", Required = true };
        var clients = new Option<int>("--clients") { Description = "concurrent create streams", DefaultValueFactory = _ => 8 };
        var before = new Option<int>("--before") { Description = "acknowledged creates before the restart", DefaultValueFactory = _ => 20 };
        var after = new Option<int>("--after") { Description = "acknowledged creates after it that show the service recovered", DefaultValueFactory = _ => 20 };
        var command = new Command("store-restart", "restart drill: the database of a loaded `pic serve` restarts; counts 503s, errors and lost memories")
        { engine.Model, engine.Compressor, store, restart, clients, before, after };
        command.SetAction(parse => CommandErrors.Run("pic-lab store-restart", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new StoreRestartOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor,
                parse.GetValue(store)!, parse.GetValue(restart)!, parse.GetValue(clients), parse.GetValue(before), parse.GetValue(after));
            var result = StoreRestartDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult();
            bool clean = result.Recovered && result.Lost + result.Unanswered + result.UnavailableWithoutRetryAfter == 0
                && result.Refused.Keys.All(status => status is 503 or 429);
            return clean ? 0 : 2;
        }));
        return command;
    }
}
