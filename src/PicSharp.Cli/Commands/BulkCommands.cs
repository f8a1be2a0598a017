using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PicSharp.Serving;
using PicSharp.Serving.Bulk;
using PicSharp.Serving.Http;
using PicSharp.Serving.Store;

namespace PicSharp.Cli.Commands;

/// <summary>
/// Bulk compression through RabbitMQ: `pic enqueue` publishes documents, `pic worker` (one or many, on any machine)
/// compresses them into a shared store, `pic batch-status` (or `pic enqueue --wait`) reports a batch. The broker holds
/// the work, so publishers and workers may come and go (docs/scale-out.md).
/// </summary>
static partial class BulkCommands
{
    const string BrokerVariable = "PIC_BROKER";
    const string DefaultBroker = "amqp://guest:guest@127.0.0.1:5672/";

    public static IEnumerable<Command> Create() => [Enqueue(), Worker(), Status()];

    static Option<string> BrokerOption() => new("--broker")
    {
        Description = $"RabbitMQ address (default: ${BrokerVariable}, else {DefaultBroker})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(BrokerVariable) is { Length: > 0 } broker ? broker : DefaultBroker,
    };

    [GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex BatchName();

    static string RequireBatchName(string batch) => BatchName().IsMatch(batch) ? batch
        : throw new InvalidInputException($"--batch '{batch}' must be 1-100 letters, digits, '.', '_' or '-'");

    static Command Enqueue()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "text files, folders (every file under them) and .jsonl files ({\"text\": ..., \"id\": ...} per line)", Arity = ArgumentArity.OneOrMore };
        var broker = BrokerOption();
        var batch = new Option<string?>("--batch") { Description = "name of the batch (default: the time and a random suffix)" };
        var wait = new Option<bool>("--wait") { Description = "wait until every document is done or failed, then report (exit 1 if any failed)" };
        var command = new Command("enqueue", "Publish documents for `pic worker`s to compress (one durable message each)") { inputs, broker, batch, wait };
        command.SetAction((parse, cancel) => CommandErrors.RunAsync("pic enqueue", async () =>
        {
            string name = RequireBatchName(parse.GetValue(batch) ?? $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
            var documents = BulkInputs.Read(parse.GetValue(inputs)!);
            await using var connection = await BulkQueues.ConnectAsync(parse.GetValue(broker)!, "pic enqueue", cancel);
            int shown = -1;
            await DocumentPublisher.PublishAsync(connection, name, documents, (done, total) =>
            {
                int tenth = done * 10 / total; // a line per tenth: readable in a terminal and in a log
                if (tenth == shown) return;
                shown = tenth;
                Console.Error.WriteLine($"published {done}/{total}");
            }, cancel);
            Console.WriteLine($"batch {name}: {documents.Count} document{(documents.Count == 1 ? "" : "s")} enqueued");
            if (!parse.GetValue(wait)) return 0;
            string last = "";
            try
            {
                while (true)
                {
                    var status = await BatchStatus.ReadAsync(connection, name, cancel);
                    string line = Line(status);
                    if (line != last) Console.Error.WriteLine(last = line);
                    if (status.Finished) return Report(status, asJson: false);
                    await Task.Delay(TimeSpan.FromSeconds(1), cancel);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Ctrl+C stops the waiting, not the batch: the documents are with the broker.
                Console.Error.WriteLine($"pic enqueue: stopped waiting; the batch goes on: pic batch-status {name}");
                return CommandErrors.UserErrorExitCode;
            }
        }));
        return command;
    }

    static Command Status()
    {
        var batch = new Argument<string>("batch") { Description = "the batch's name, as `pic enqueue` printed it" };
        var broker = BrokerOption();
        var json = new Option<bool>("--json") { Description = "one JSON object instead of text" };
        var command = new Command("batch-status", "How far a batch is: documents done, failed (with reasons) and pending; exit 1 if any failed") { batch, broker, json };
        command.SetAction((parse, cancel) => CommandErrors.RunAsync("pic batch-status", async () =>
        {
            await using var connection = await BulkQueues.ConnectAsync(parse.GetValue(broker)!, "pic batch-status", cancel);
            return Report(await BatchStatus.ReadAsync(connection, RequireBatchName(parse.GetValue(batch)!), cancel), parse.GetValue(json));
        }));
        return command;
    }

    static string Line(BatchStatus s) =>
        $"batch {s.Batch}: {s.Done} done, {s.Failed} failed, {(s.Pending is int pending ? $"{pending} pending" : "still being published")}";

    static int Report(BatchStatus status, bool asJson)
    {
        if (asJson)
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                batch = status.Batch, total = status.Total, done = status.Done, failed = status.Failed, pending = status.Pending,
                failures = status.Failures.Select(f => new { index = f.Index, source = f.Source, reason = f.Reason }),
            }, ServeApp.Json));
        else
        {
            Console.WriteLine(Line(status));
            foreach (var failure in status.Failures) Console.WriteLine($"  failed {failure.Source}: {failure.Reason}");
        }
        return status.Failed == 0 ? 0 : CommandErrors.UserErrorExitCode;
    }

    static Command Worker()
    {
        var engine = new EngineOptions();
        var defaults = new BulkWorkerOptions();
        var broker = BrokerOption();
        var store = new Option<string>("--store") { Description = $"memory store the memories go to: a PostgreSQL address (shared with `pic serve` replicas) or a SQLite file (default: {ServeCommand.DefaultStore})" };
        var prefetch = new Option<ushort>("--prefetch") { Description = "documents the broker hands this worker ahead", DefaultValueFactory = _ => defaults.Prefetch };
        var attempts = new Option<int>("--max-attempts") { Description = "tries per document before it is dead-lettered", DefaultValueFactory = _ => defaults.MaxAttempts };
        var command = new Command("worker", "Compress documents from the broker into the store until Ctrl+C or SIGTERM (finishes the document in hand)")
        { broker, store, prefetch, attempts };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction((parse, cancel) => CommandErrors.RunAsync("pic worker", async () =>
        {
            var options = new BulkWorkerOptions { Prefetch = parse.GetValue(prefetch), MaxAttempts = parse.GetValue(attempts) };
            options.Validate();
            using var stop = new StopSignal();
            using var pic = engine.Open(parse);
            using var memories = MemoryStores.Open(parse.GetValue(store) ?? ServeCommand.DefaultStore);
            using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
            var logger = loggers.CreateLogger("PicSharp.Worker");
            using var queue = new ModelQueue(capacity: options.Prefetch + 1, logger);
            var worker = new BulkWorker(new MemoryService(pic, memories, queue, logger), options, logger);
            await using var connection = await BulkQueues.ConnectAsync(parse.GetValue(broker)!, "pic worker", cancel);
            Console.WriteLine($"memory store: {memories.Location}");
            await worker.RunAsync(connection, stop.Token);
            Console.WriteLine($"worker stopped: {worker.Done} done, {worker.DeadLettered} dead-lettered, {worker.Retried} sent back to retry");
            return 0;
        }));
        return command;
    }
}
