using System.CommandLine;
using PicSharp.Cli.Commands;

namespace PicSharp.Lab;

/// <summary>`pic-lab broker-restart`: RabbitMQ restarted under bulk workers mid-batch (<see cref="WorkerDrill"/>).</summary>
static class BrokerRestartCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var store = new Option<string>("--store") { Description = "store the workers share (PostgreSQL address or SQLite file)", Required = true };
        var broker = new Option<string>("--broker") { Description = "RabbitMQ address (amqp://guest:guest@127.0.0.1:5672/)", Required = true };
        var restart = new Option<string>("--restart") { Description = "shell command that stops the broker and starts it again", Required = true };
        var documents = new Option<int>("--documents") { Description = "documents in the batch", DefaultValueFactory = _ => 40 };
        var workers = new Option<int>("--workers") { Description = "pic worker processes", DefaultValueFactory = _ => 2 };
        var command = new Command("broker-restart", "restart drill of the bulk queue: the broker restarts mid-batch under running workers; every document must end up stored once")
        { engine.Model, engine.Compressor, store, broker, restart, documents, workers };
        command.SetAction(parse => CommandErrors.Run("pic-lab broker-restart", () =>
        {
            string compressor = EngineOptions.FullPath(parse.GetValue(engine.Compressor) ?? throw new InvalidInputException("--compressor is required"));
            var options = new WorkerDrillOptions(ServeCrashDrill.CurrentPicCommand(), EngineOptions.ModelFolder(parse.GetValue(engine.Model)), compressor,
                parse.GetValue(store)!, parse.GetValue(broker)!, parse.GetValue(documents), parse.GetValue(workers), BrokerRestart: parse.GetValue(restart)!);
            return WorkerDrill.RunAsync(options, Console.WriteLine).GetAwaiter().GetResult().Clean ? 0 : 2;
        }));
        return command;
    }
}
