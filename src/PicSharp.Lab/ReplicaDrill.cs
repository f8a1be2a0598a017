using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Cli.Benchmarks;

namespace PicSharp.Lab;

/// <param name="PicCommand">how to start `pic` (the program and any arguments before `serve`).</param>
/// <param name="Store">the PostgreSQL address both replicas share.</param>
public sealed record ReplicaDrillOptions(IReadOnlyList<string> PicCommand, string ModelDir, string CompressorDir, string Store,
    int Clients = 8, int KillAfterAcknowledged = 20, int Seed = 1, int Sentences = 12);

/// <param name="Acknowledged">creates answered 201/200 by the replica before it was killed.</param>
/// <param name="MissingOnSurvivor">acknowledged memories the surviving replica does not serve (must be 0).</param>
/// <param name="StoredOnSurvivor">memories the surviving replica lists (acknowledged ones, plus any committed whose answer never left).</param>
/// <param name="SurvivorAnswered">the surviving replica answered a question from a memory the killed one created.</param>
/// <param name="ReadyStores">the store each replica's /ready named, first the killed one.</param>
public sealed record ReplicaDrillResult(int Acknowledged, int MissingOnSurvivor, int StoredOnSurvivor, bool SurvivorAnswered, IReadOnlyList<string> ReadyStores);

/// <summary>
/// Two stateless `pic serve` replicas on one PostgreSQL store: creates stream at the first from several clients, it is
/// killed with SIGKILL while creates are in flight, and the second must serve every memory the first acknowledged.
/// </summary>
public static class ReplicaDrill
{
    public static async Task<ReplicaDrillResult> RunAsync(ReplicaDrillOptions options, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (options.Clients < 1 || options.KillAfterAcknowledged < 1) throw new InvalidInputException("--clients and --kill-after must be at least 1");
        string[] serveArgs = ["--model", options.ModelDir, "--compressor", options.CompressorDir, "--store", options.Store, "--queue", "256", "--timeout", "600"];
        using var first = PicProcess.StartServe(options.PicCommand, serveArgs);
        using var second = PicProcess.StartServe(options.PicCommand, serveArgs);
        await Task.WhenAll(first.WaitReadyAsync(cancel), second.WaitReadyAsync(cancel));
        var readyStores = new List<string>();
        foreach (var replica in new[] { first, second })
            readyStores.Add(JsonNode.Parse(await replica.Http.GetStringAsync("/ready", cancel))!["store"]!.GetValue<string>());
        log?.Invoke($"two replicas ready on {readyStores[0]}");

        var acknowledged = await first.KillDuringCreatesAsync(options.Clients, options.KillAfterAcknowledged, (c, i) =>
            string.Join(" ", ServeLoad.Documents(1, options.Seed * 7919 + c, options.Sentences)) + $" Replica drill, client {c}, create {i}.", cancel);

        int missing = 0;
        foreach (string id in acknowledged)
            if ((await second.Http.GetAsync($"/v1/memories/{id}", cancel)).StatusCode != HttpStatusCode.OK) missing++;
        int stored = JsonNode.Parse(await second.Http.GetStringAsync("/v1/memories?limit=1", cancel))!["total"]!.GetValue<int>();
        var ask = await second.Http.PostAsync($"/v1/memories/{acknowledged.First()}/ask",
            new StringContent(JsonSerializer.Serialize(new { question = "Who is it about?", max_tokens = 4 }), Encoding.UTF8, "application/json"), cancel);
        var result = new ReplicaDrillResult(acknowledged.Count, missing, stored, ask.StatusCode == HttpStatusCode.OK, readyStores);
        log?.Invoke($"{result.Acknowledged} creates acknowledged by the killed replica, {result.MissingOnSurvivor} of them missing on the survivor, " +
            $"{result.StoredOnSurvivor} stored, survivor answered from one: {result.SurvivorAnswered}");
        return result;
    }
}
