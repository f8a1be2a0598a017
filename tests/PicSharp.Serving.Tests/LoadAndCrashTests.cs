using PicSharp.Cli.Benchmarks;
using PicSharp.Lab;
using PicSharp.Serving.Http;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>Short versions of `pic bench serve` and `pic bench serve-crash` (the long ones and their numbers: docs/serving.md).</summary>
[Collection(nameof(TinyService))]
public sealed class LoadAndCrashTests(TinyService tiny)
{
    [Fact]
    public async Task Short_load_loses_and_garbles_nothing_and_sheds_load_with_429()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { QueueCapacity = 2 });
        await server.Service.CreateAsync(TinyService.Passage); // the first forward of a fresh model is slow
        var report = await ServeLoad.RunAsync(new ServeLoadOptions(server.Address, Clients: 8, Duration: TimeSpan.FromSeconds(8), MaxRequests: 400, MaxTokens: 4, Sentences: 4));
        Assert.True(report.Errors + report.Garbled + report.Lost == 0, string.Join("\n", report.Problems));
        Assert.True(report.Accepted >= 10, $"only {report.Accepted} requests accepted");
        Assert.True(report.Rejected429 > 0, "8 clients against a queue of 2 should see 429s");
        Assert.Equal(["ask", "create", "stream"], report.Latencies.Select(l => l.Kind));
        Assert.All(report.Latencies, l => Assert.True(l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms));
        Assert.NotNull(report.RssMaxBytes);
        Assert.True(report.MeanBatchSize >= 1 && report.AnswerTokens >= 0, $"answers not counted: mean batch {report.MeanBatchSize}");
    }

    [Fact]
    public async Task Kill_9_during_creates_keeps_every_acknowledged_memory_whole()
    {
        string dir = Directory.CreateTempSubdirectory("pic-crash-").FullName;
        try
        {
            string store = Path.Combine(dir, "memories.db");
            var rounds = await ServeCrashDrill.RunAsync(new CrashDrillOptions(ServeCrashDrill.PicCommand(RepoFolder.PicDll()), tiny.ModelDir, tiny.CompressorDir, store,
                Rounds: 2, Clients: 4, KillAfterAcknowledged: 6, Sentences: 4));
            Assert.All(rounds, r =>
            {
                Assert.True(r.Acknowledged >= 6);
                Assert.Equal((0, 0, 0, "ok"), (r.Missing, r.Broken, r.MissingAfterRestart, r.Integrity));
                Assert.True(r.Stored >= r.Acknowledged);
            });
            using var reopened = new SqliteMemoryStore(store);
            Assert.Equal(rounds[^1].Stored, reopened.Count());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
