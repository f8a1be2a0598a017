using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>`pic-lab worker-crash`: bulk workers on one store, one killed mid-batch (<see cref="WorkerDrill"/>).</summary>
static class WorkerCrashCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "store the workers share (PostgreSQL address or SQLite file)", Required = true };
        var broker = new Option<string>("--broker") { Description = "RabbitMQ address (amqp://guest:guest@127.0.0.1:5672/)", Required = true };
        var documents = new Option<int>("--documents") { Description = "documents in the batch", DefaultValueFactory = _ => 40 };
        var workers = new Option<int>("--workers") { Description = "pic worker processes (the first is killed)", DefaultValueFactory = _ => 2 };
        var command = new Command("worker-crash", "kill -9 drill of pic worker: a batch goes to several workers, one is killed, every document must end up stored once")
        { engine.Model, engine.Compressor, store, broker, documents, workers };
        command.SetAction(parse => CommandErrors.Run("pic-lab worker-crash", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new WorkerDrillOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor,
                parse.GetValue(store)!, parse.GetValue(broker)!, parse.GetValue(documents), parse.GetValue(workers));
            return WorkerDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult().Clean ? 0 : 2;
        }));
        return command;
    }
}
