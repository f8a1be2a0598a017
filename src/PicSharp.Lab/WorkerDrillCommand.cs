using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>The two drills of the bulk workers (<see cref="WorkerDrill"/>): `pic-lab worker-crash` kills one worker
/// mid-batch, `pic-lab broker-restart` restarts RabbitMQ under all of them.</summary>
static class WorkerDrillCommand
{
    public static Command WorkerCrash() => Create("worker-crash",
        "kill -9 drill of pic worker: a batch goes to several workers, one is killed, every document must end up stored once",
        "pic worker processes (the first is killed)", restart: null);

    public static Command BrokerRestart() => Create("broker-restart",
        "restart drill of the bulk queue: the broker restarts mid-batch under running workers; every document must end up stored once",
        "pic worker processes",
        new Option<string>("--restart") { Description = "shell command that stops the broker and starts it again", Required = true });

    static Command Create(string name, string description, string workersDescription, Option<string>? restart)
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "store the workers share (PostgreSQL address or SQLite file)", Required = true };
        var broker = new Option<string>("--broker") { Description = "RabbitMQ address (amqp://guest:guest@127.0.0.1:5672/)", Required = true };
        var documents = new Option<int>("--documents") { Description = "documents in the batch", DefaultValueFactory = _ => 40 };
        var workers = new Option<int>("--workers") { Description = workersDescription, DefaultValueFactory = _ => 2 };
        var command = new Command(name, description) { engine.Model, engine.Compressor, store, broker, documents, workers };
        if (restart is not null) command.Options.Add(restart);
        command.SetAction(parse => CommandErrors.Run($"pic-lab {name}", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new WorkerDrillOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor,
                parse.GetValue(store)!, parse.GetValue(broker)!, parse.GetValue(documents), parse.GetValue(workers),
                BrokerRestart: restart is null ? null : parse.GetValue(restart)!);
            return WorkerDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult().Clean ? 0 : 2;
        }));
        return command;
    }
}
