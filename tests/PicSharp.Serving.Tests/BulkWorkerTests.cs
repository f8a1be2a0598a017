using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PicSharp.Lab;
using PicSharp.Serving.Bulk;
using PicSharp.Serving.Store;
using RabbitMQ.Client;

namespace PicSharp.Serving.Tests;

/// <summary>`pic enqueue`, `pic worker` and `pic batch-status` on a real RabbitMQ (<see cref="RabbitServer"/>): every
/// document compressed once into the store, poison documents dead-lettered with their reason, a store that stays down
/// retried a bounded number of times, a worker riding out a broker restart, a worker killed mid-batch losing nothing
/// (a short `pic-lab worker-crash`).</summary>
[Collection(nameof(TinyService))]
public sealed class BulkWorkerTests(TinyService tiny, RabbitServer rabbit) : IClassFixture<RabbitServer>, IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-bulk-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static string Passage(int i) => $"{TinyService.Passage} This copy is number {i}.";

    /// <summary>A worker over <paramref name="store"/> running until the returned source is cancelled.</summary>
    static async Task<(BulkWorker Worker, Task Running, CancellationTokenSource Stop, ModelQueue Queue)> StartWorkerAsync(
        PicEngine engine, IMemoryStore store, IConnection connection, BulkWorkerOptions options)
    {
        var queue = new ModelQueue(capacity: 4, NullLogger.Instance);
        var worker = new BulkWorker(new MemoryService(engine, store, queue, NullLogger.Instance), options, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        var consuming = new TaskCompletionSource();
        var running = worker.RunAsync(connection, stop.Token, consuming.SetResult);
        await Task.WhenAny(consuming.Task, running);
        if (running.IsFaulted) await running;
        return (worker, running, stop, queue);
    }

    static async Task<BatchStatus> WaitFinishedAsync(IConnection connection, string batch)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var status = await BatchStatus.ReadAsync(connection, batch, CancellationToken.None);
            if (status.Finished) return status;
            Assert.True(DateTime.UtcNow < deadline, $"batch {batch} not finished within 90 s: {status}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Documents_are_stored_once_each_and_poison_is_dead_lettered_with_its_reason()
    {
        await rabbit.PurgeAsync();
        await using var connection = await rabbit.ConnectAsync();
        string tooLong = string.Join(" ", Enumerable.Repeat(TinyService.Passage, 20));
        BulkDocument[] documents =
        [
            new("a", Passage(1)), new("b", Passage(2)), new("c", Passage(3)),
            new("a-again", Passage(1)), // the same text: the same content-addressed memory
            new("long", tooLong),
        ];
        await DocumentPublisher.PublishAsync(connection, "mixed", documents, null, CancellationToken.None);
        await using (var raw = await connection.CreateChannelAsync()) // another publisher's bytes that are not UTF-8
            await raw.BasicPublishAsync("", BulkQueues.Documents, mandatory: true, new BasicProperties { Persistent = true, MessageId = "raw" }, new byte[] { 0x41, 0xC3, 0x28 });

        using var engine = tiny.OpenEngine();
        using var store = new SqliteMemoryStore(Path.Combine(dir, "m.db"));
        var (worker, running, stop, queue) = await StartWorkerAsync(engine, store, connection, new BulkWorkerOptions());
        using (queue)
        {
            var status = await WaitFinishedAsync(connection, "mixed");
            Assert.Equal((5, 4, 1), (status.Total, status.Done, status.Failed));
            Assert.Equal("long", Assert.Single(status.Failures).Source);
            Assert.Contains("tokens but this compressor takes at most", status.Failures[0].Reason);
            var ids = documents[..4].Select(d => MemoryKey.Of(engine.CompressorId, engine.Tokenize(d.Text))).Distinct().ToList();
            Assert.Equal(3, ids.Count);
            Assert.Equal(ids.Order(), store.List(0, 10).Select(r => r.Id).Order());

            await RunningServer.WaitFor(() => worker.DeadLettered == 2);
            var letters = await rabbit.DrainDeadLettersAsync();
            Assert.Equal(2, letters.Count);
            Assert.Contains(letters, l => l.Reason!.Contains("tokens but this compressor takes at most") && Encoding.UTF8.GetString(l.Body) == tooLong);
            Assert.Contains(letters, l => l.Reason == "the document is not valid UTF-8 (byte 1 of 3)");
            Assert.Equal(0u, await rabbit.WaitingDocumentsAsync());
            Assert.Equal(4, worker.Done);

            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        // Reading the status took nothing away: a second reader sees the same counts.
        var again = await BatchStatus.ReadAsync(connection, "mixed", CancellationToken.None);
        Assert.Equal((5, 4, 1, 0), (again.Total, again.Done, again.Failed, again.Pending));
    }

    [Fact]
    public async Task A_store_that_stays_down_is_retried_a_bounded_number_of_times_then_dead_lettered()
    {
        await rabbit.PurgeAsync();
        await using var connection = await rabbit.ConnectAsync();
        await DocumentPublisher.PublishAsync(connection, "store-down", [new("doc", Passage(7))], null, CancellationToken.None);
        using var engine = tiny.OpenEngine();
        using var store = new UnreachableStore();
        var options = new BulkWorkerOptions { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(20) };
        var (worker, running, stop, queue) = await StartWorkerAsync(engine, store, connection, options);
        using (queue)
        {
            var status = await WaitFinishedAsync(connection, "store-down");
            Assert.Equal((1, 0, 1), (status.Total, status.Done, status.Failed));
            Assert.Equal($"gave up after 3 attempts: {UnreachableStore.Problem}", status.Failures[0].Reason);
            Assert.Equal(2, worker.Retried);
            Assert.Equal(3, store.Calls);
            Assert.Equal($"gave up after 3 attempts: {UnreachableStore.Problem}", Assert.Single(await rabbit.DrainDeadLettersAsync()).Reason);
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public Task A_worker_killed_mid_batch_loses_no_document_and_the_other_stores_each_once_in_postgres() =>
        DrillLosesNothingAsync(brokerRestart: null);

    [Fact]
    public Task A_broker_restart_mid_batch_loses_no_document_and_stores_each_once_in_postgres() =>
        DrillLosesNothingAsync(rabbit.RestartCommand);

    // The worker drill on PostgreSQL: one worker killed (no restart command) or the broker restarted, mid-batch.
    async Task DrillLosesNothingAsync(string? brokerRestart)
    {
        await rabbit.PurgeAsync();
        var postgres = new PostgresServer();
        try
        {
            string store = postgres.NewDatabase();
            var result = await WorkerDrill.RunAsync(new WorkerDrillOptions(ServeCrashDrill.PicCommand(RepoFolder.PicDll()), tiny.ModelDir, tiny.CompressorDir,
                store, rabbit.Address, Documents: 120, Workers: 2, Sentences: 4, BrokerRestart: brokerRestart));
            Assert.InRange(result.DoneBeforeDisruption, 30, 119); // the disruption came mid-batch
            Assert.Equal((120, 120, 0, 0, 120), (result.Enqueued, result.Done, result.DeadLettered, result.Missing, result.Stored));
            using var shared = MemoryStores.Open(store);
            Assert.Equal(120, shared.Count()); // one row per document, however often one was redelivered
            Assert.Empty(await rabbit.DrainDeadLettersAsync());
            Assert.Equal(0u, await rabbit.WaitingDocumentsAsync());
        }
        finally { postgres.Dispose(); }
    }

    [Fact]
    public async Task A_worker_rides_out_a_broker_restart_and_takes_the_next_batch()
    {
        await rabbit.PurgeAsync();
        using var engine = tiny.OpenEngine();
        using var store = new SqliteMemoryStore(Path.Combine(dir, "m.db"));
        await using var workerConnection = await rabbit.ConnectAsync();
        var (worker, running, stop, queue) = await StartWorkerAsync(engine, store, workerConnection, new BulkWorkerOptions());
        using (queue)
        {
            await using (var before = await rabbit.ConnectAsync())
            {
                await DocumentPublisher.PublishAsync(before, "before-restart", [new("one", Passage(11))], null, CancellationToken.None);
                Assert.Equal(1, (await WaitFinishedAsync(before, "before-restart")).Done);
            }
            rabbit.Stop();
            rabbit.Start();
            await using (var after = await rabbit.ConnectAsync())
            {
                await DocumentPublisher.PublishAsync(after, "after-restart", [new("two", Passage(12))], null, CancellationToken.None);
                var status = await WaitFinishedAsync(after, "after-restart");
                Assert.Equal((1, 0), (status.Done, status.Failed));
                Assert.Equal(1, (await BatchStatus.ReadAsync(after, "before-restart", CancellationToken.None)).Done); // durable across the restart
            }
            Assert.False(running.IsCompleted, "the worker exited on the restart");
            Assert.Equal(2, store.Count());
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task An_unknown_batch_and_an_unreachable_broker_are_named()
    {
        await using var connection = await rabbit.ConnectAsync();
        var unknown = await Assert.ThrowsAsync<InvalidInputException>(() => BatchStatus.ReadAsync(connection, "never-published", CancellationToken.None));
        Assert.StartsWith("there is no batch 'never-published' on this broker", unknown.Message);
        int closed = RepoFolder.FreePort();
        var down = await Assert.ThrowsAsync<BrokerUnavailableException>(() => BulkQueues.ConnectAsync($"amqp://guest:guest@127.0.0.1:{closed}/", "test", CancellationToken.None));
        Assert.StartsWith($"the broker at amqp://127.0.0.1:{closed}/ is unavailable: ", down.Message);
        Assert.Contains("not an amqp:// address", (await Assert.ThrowsAsync<InvalidInputException>(() => BulkQueues.ConnectAsync("http://x", "test", CancellationToken.None))).Message);
    }
}

/// <summary>A store whose database is down: every call fails as PostgreSQL's store does when it cannot connect.</summary>
sealed class UnreachableStore : IMemoryStore
{
    public const string Problem = "memory store postgresql://nowhere:5432/pic is unavailable: connection refused";
    int calls;
    public int Calls => calls;

    public string Location => "postgresql://nowhere:5432/pic";
    T Fail<T>()
    {
        Interlocked.Increment(ref calls);
        throw new StoreUnavailableException(Problem, new IOException("connection refused"));
    }
    public bool Add(StoredMemory memory) => Fail<bool>();
    public MemoryRecord? Find(string id) => Fail<MemoryRecord?>();
    public StoredMemory? Load(string id) => Fail<StoredMemory?>();
    public bool Delete(string id) => Fail<bool>();
    public IReadOnlyList<MemoryRecord> List(int offset, int limit) => Fail<IReadOnlyList<MemoryRecord>>();
    public int Count() => Fail<int>();
    public void CheckReadWrite() => Fail<int>();
    public void Dispose() { }
}
