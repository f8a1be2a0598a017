using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>`pic-lab serve-crash`: the kill -9 drill of `pic serve`'s store (<see cref="ServeCrashDrill"/>).</summary>
static class ServeCrashCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "SQLite store the drill writes (made if missing)", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "start, create, kill -9, check: how many times", DefaultValueFactory = _ => 5 };
        var clients = new Option<int>("--clients") { Description = "concurrent create streams", DefaultValueFactory = _ => 8 };
        var killAfter = new Option<int>("--kill-after") { Description = "acknowledged creates per round before the kill", DefaultValueFactory = _ => 40 };
        var command = new Command("serve-crash", "kill -9 drill: `pic serve` is killed during a stream of creates, restarted, and the store checked")
        { engine.Model, engine.Compressor, store, rounds, clients, killAfter };
        command.SetAction(parse => CommandErrors.Run("pic-lab serve-crash", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new CrashDrillOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor, parse.GetValue(store)!,
                parse.GetValue(rounds), parse.GetValue(clients), parse.GetValue(killAfter));
            var results = ServeCrashDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult();
            int bad = results.Sum(r => r.Missing + r.Broken + r.MissingAfterRestart) + results.Count(r => r.Integrity != "ok");
            Console.WriteLine($"{results.Count} rounds, {results.Sum(r => r.Acknowledged)} acknowledged creates: {results.Sum(r => r.Missing)} missing after kill -9, " +
                $"{results.Sum(r => r.Broken)} broken rows, integrity {string.Join(",", results.Select(r => r.Integrity).Distinct())}, " +
                $"{results.Sum(r => r.MissingAfterRestart)} missing after restart; restart to ready {results.Average(r => r.RestartSeconds):F1} s on average");
            return bad == 0 ? 0 : 2;
        }));
        return command;
    }
}
