using System.Diagnostics;
using PicSharp.Cli.Benchmarks;
using PicSharp.Serving.Bulk;
using PicSharp.Serving.Store;

namespace PicSharp.Lab;

/// <param name="PicCommand">how to start `pic` (the program and any arguments before `worker`).</param>
/// <param name="Store">the store the workers share (a PostgreSQL address, or a SQLite file on this machine).</param>
/// <param name="BrokerRestart">null: the drill kills the first worker; else a shell command that stops the broker and
/// starts it again, run instead (every worker stays up and must reconnect).</param>
public sealed record WorkerDrillOptions(IReadOnlyList<string> PicCommand, string ModelDir, string CompressorDir, string Store, string Broker,
    int Documents = 40, int Workers = 2, int Seed = 1, int Sentences = 12, string? BrokerRestart = null);

/// <param name="Enqueued">documents published (and confirmed by the broker).</param>
/// <param name="Done">documents with a memory when the batch finished (must equal <see cref="Enqueued"/>).</param>
/// <param name="DeadLettered">documents dead-lettered (must be 0: every document is good).</param>
/// <param name="Missing">done documents whose memory the store does not have (must be 0).</param>
/// <param name="Stored">distinct memories of the batch in the store (must equal <see cref="Enqueued"/>: one row per document).</param>
/// <param name="Repeats">documents compressed again after a redelivery (allowed: they found their row).</param>
/// <param name="DoneBeforeDisruption">documents done when the worker was killed or the broker restarted (fewer than
/// <see cref="Enqueued"/>: the disruption came mid-batch).</param>
public sealed record WorkerDrillResult(int Enqueued, int Done, int DeadLettered, int Missing, int Stored, int Repeats, double Seconds, int DoneBeforeDisruption)
{
    /// <summary>Every document done and stored once, none dead-lettered or missing.</summary>
    public bool Clean => Done == Enqueued && DeadLettered + Missing == 0 && Stored == Enqueued;
}

/// <summary>
/// Drills of the bulk workers: start several `pic worker`s on one store, publish a batch of distinct documents, and
/// once a quarter of the batch is done either SIGKILL the first worker (its unacknowledged documents go back to the
/// queue) or restart the broker under all of them (queues and messages are durable; the workers reconnect); then check
/// when the batch finishes that every document was compressed, none dead-lettered, and each is one row.
/// </summary>
public static class WorkerDrill
{
    public static async Task<WorkerDrillResult> RunAsync(WorkerDrillOptions options, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (options.Documents < 4 || options.Workers < 2) throw new InvalidInputException("the drill needs at least 4 documents and 2 workers (one is killed)");
        string[] workerArgs = ["worker", "--model", options.ModelDir, "--compressor", options.CompressorDir, "--store", options.Store,
            "--broker", options.Broker, "--threads", "1"];
        var workers = Enumerable.Range(0, options.Workers).Select(_ => PicProcess.Start(options.PicCommand, workerArgs)).ToList();
        try
        {
            var clock = Stopwatch.StartNew();
            string batch = $"worker-drill-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{options.Seed}";
            var documents = Enumerable.Range(0, options.Documents).Select(i => new BulkDocument($"drill {i}",
                string.Join(" ", ServeLoad.Documents(1, options.Seed * 7919 + i, options.Sentences)) + $" Document {i} of the worker drill.")).ToList();
            BatchStatus status;
            await using (var connection = await BulkQueues.ConnectAsync(options.Broker, "pic-lab worker drill", cancel))
            {
                await DocumentPublisher.PublishAsync(connection, batch, documents, null, cancel);
                log?.Invoke($"batch {batch}: {documents.Count} documents published to {options.Workers} workers");
                status = await WaitAsync(connection, batch, s => s.Done >= options.Documents / 4, workers, cancel);
            }
            int doneBefore = status.Done;
            var survivors = workers;
            if (options.BrokerRestart is null)
            {
                workers[0].Kill();
                survivors = workers.Skip(1).ToList();
                log?.Invoke($"worker 1 killed with {status.Done} documents done");
            }
            else
            {
                var outage = Stopwatch.StartNew();
                await ShellCommand.RunAsync(options.BrokerRestart, "the broker restart command", cancel);
                log?.Invoke($"broker restarted in {outage.Elapsed.TotalSeconds:F1} s with {status.Done} documents done");
            }
            // A new connection: the drill's own went down with the broker.
            await using (var connection = await BulkQueues.ConnectAsync(options.Broker, "pic-lab worker drill", cancel))
                status = await WaitAsync(connection, batch, s => s.Finished, survivors, cancel);

            using var store = MemoryStores.Open(options.Store);
            int missing = status.MemoryIds.Values.Count(id => store.Find(id) is null);
            int stored = status.MemoryIds.Values.Distinct().Count(id => store.Find(id) is not null);
            var result = new WorkerDrillResult(documents.Count, status.Done, status.Failed, missing, stored, status.Repeats, clock.Elapsed.TotalSeconds, doneBefore);
            log?.Invoke($"{result.Enqueued} enqueued, {result.Done} done, {result.DeadLettered} dead-lettered, {result.Missing} missing from the store, " +
                $"{result.Stored} stored, {result.Repeats} compressed again after redelivery, {result.Seconds:F1} s");
            return result;
        }
        finally { workers.ForEach(w => w.Dispose()); }
    }

    static async Task<BatchStatus> WaitAsync(RabbitMQ.Client.IConnection connection, string batch, Func<BatchStatus, bool> until,
        IReadOnlyList<PicProcess> running, CancellationToken cancel)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = await BatchStatus.ReadAsync(connection, batch, cancel);
            if (until(status)) return status;
            if (running.FirstOrDefault(w => w.Process.HasExited) is { } dead)
                throw new IOException($"a worker exited with code {dead.Process.ExitCode}: {dead.Errors}");
            if (deadline.Elapsed > TimeSpan.FromMinutes(30)) throw new TimeoutException($"batch {batch} did not get there in 30 minutes: {status}");
            await Task.Delay(200, cancel);
        }
    }
}
