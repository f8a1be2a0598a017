using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Cli.Benchmarks;

/// <param name="AsksOnly">each client creates one memory, then only asks (half streamed): the load of concurrent
/// questions that the server's batching is for.</param>
public sealed record ServeLoadOptions(Uri Address, int Clients, TimeSpan Duration, int MaxRequests, string? ApiKey = null,
    int Documents = 12, int MaxTokens = 8, int Seed = 1, int Sentences = 12, bool AsksOnly = false);

/// <summary>Latencies of one kind of request (create, ask, stream) that the server accepted.</summary>
public sealed record LatencySummary(string Kind, int Accepted, double P50Ms, double P95Ms, double P99Ms);

/// <param name="AnswerTokens">tokens of all accepted answers (JSON and streamed).</param>
/// <param name="MeanBatchSize">mean over accepted answers of the batch each was decoded in (the server's batch_size).</param>
public sealed record ServeLoadReport(
    double Seconds, int Requests, int Accepted, int Rejected429, int Errors, int Garbled, int Lost,
    IReadOnlyList<LatencySummary> Latencies, long? RssStartBytes, long? RssMaxBytes, long? RssEndBytes, IReadOnlyList<string> Problems,
    long AnswerTokens, double MeanBatchSize)
{
    public double AcceptedPerSecond => Accepted / Seconds;
    public double AnswerTokensPerSecond => AnswerTokens / Seconds;
}

/// <summary>
/// A bounded load generator for `pic serve` on loopback: N clients for a fixed time (and at most M requests), mixing
/// creates (new and repeated documents), JSON asks and streamed asks. Every accepted answer is checked (ids, JSON shape,
/// stream framing, streamed text equal to the final answer); a 429 must carry Retry-After and the client waits it out.
/// At the end every acknowledged memory must still be there. The server's RSS is sampled from /ready once a second.
/// </summary>
public static class ServeLoad
{
    public static async Task<ServeLoadReport> RunAsync(ServeLoadOptions options, CancellationToken cancel = default)
    {
        if (!options.Address.IsLoopback) throw new InvalidInputException($"{options.Address} is not a loopback address; the load generator only targets this machine");
        if (options.Clients < 1 || options.MaxRequests < 1) throw new InvalidInputException("need at least one client and one request");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients + 2 }) { BaseAddress = options.Address, Timeout = TimeSpan.FromMinutes(5) };
        if (options.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);

        var documents = Documents(options.Documents, options.Seed, options.Sentences);
        var state = new State();
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stop.CancelAfter(options.Duration);
        var rss = new List<long>();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (await Rss(http) is long bytes) lock (rss) rss.Add(bytes);
                try { await Task.Delay(1000, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var clients = Enumerable.Range(0, options.Clients).Select(c => Task.Run(() => ClientAsync(c, http, documents, options, state, stop.Token))).ToList();
        await Task.WhenAll(clients);
        double seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await sampler;
        long? rssEnd = await Rss(http);

        int lost = 0;
        foreach (string id in state.Acknowledged.Keys)
        {
            var response = await http.GetAsync($"/v1/memories/{id}");
            if (response.StatusCode != HttpStatusCode.OK) { lost++; state.Problem($"acknowledged memory {id} is gone ({(int)response.StatusCode})"); }
        }
        var latencies = state.Latencies.GroupBy(l => l.Kind).OrderBy(g => g.Key).Select(g =>
        {
            var sorted = g.Select(l => l.Ms).Order().ToArray();
            return new LatencySummary(g.Key, sorted.Length, Percentile(sorted, 50), Percentile(sorted, 95), Percentile(sorted, 99));
        }).ToList();
        return new ServeLoadReport(seconds, state.Requests, state.Latencies.Count, state.Rejected, state.Errors, state.Garbled, lost, latencies,
            rss.FirstOrDefault() is long first and > 0 ? first : null, rss.Count > 0 ? rss.Max() : null, rssEnd, state.Problems.Take(20).ToList(),
            state.AnswerTokens, state.Answers == 0 ? 0 : (double)state.BatchSizes / state.Answers);
    }

    sealed class State
    {
        readonly Lock gate = new();
        public readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Acknowledged = new();
        public readonly List<(string Kind, double Ms)> Latencies = [];
        public readonly List<string> Problems = [];
        public int Requests, Rejected, Errors, Garbled;
        public long AnswerTokens, BatchSizes, Answers;

        public bool TakeRequest(int max) => Interlocked.Increment(ref Requests) <= max || Undo();
        bool Undo() { Interlocked.Decrement(ref Requests); return false; }
        public void Accepted(string kind, double ms) { lock (gate) Latencies.Add((kind, ms)); }
        public void Problem(string text) { lock (gate) Problems.Add(text); }
        public void Answered(JsonNode answer)
        {
            Interlocked.Add(ref AnswerTokens, answer["answer_tokens"]!.GetValue<int>());
            Interlocked.Add(ref BatchSizes, answer["batch_size"]?.GetValue<int>() ?? 1);
            Interlocked.Increment(ref Answers);
        }
    }

    static async Task ClientAsync(int client, HttpClient http, IReadOnlyList<string> documents, ServeLoadOptions options, State state, CancellationToken stop)
    {
        var random = new Random(options.Seed * 1000 + client);
        string? memory = null;
        int round = 0;
        while (!stop.IsCancellationRequested && state.TakeRequest(options.MaxRequests))
        {
            // A client first creates a memory; then 1 in 4 requests creates (half of them a new text), the rest ask
            // (asks only: half streamed, half JSON).
            int pick = memory is null ? 0 : options.AsksOnly ? 1 + random.Next(2) : random.Next(4);
            string kind = pick == 0 ? "create" : pick == 1 ? "stream" : "ask";
            string text = documents[random.Next(documents.Count)] + (random.Next(2) == 0 ? $" Note {client}.{round++}." : "");
            var started = Stopwatch.GetTimestamp();
            try
            {
                HttpResponseMessage response = kind switch
                {
                    "create" => await http.PostAsync("/v1/memories", Json(new { text }), stop),
                    _ => await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/v1/memories/{memory}/ask")
                    { Content = Json(new { question = "Who lives there?", max_tokens = options.MaxTokens, stream = kind == "stream" }) }, HttpCompletionOption.ResponseHeadersRead, stop),
                };
                using (response)
                {
                    string body = await response.Content.ReadAsStringAsync(stop);
                    if (response.StatusCode == HttpStatusCode.TooManyRequests)
                    {
                        Interlocked.Increment(ref state.Rejected);
                        if (response.Headers.RetryAfter?.Delta is not TimeSpan wait) { Garble(state, kind, "429 without Retry-After"); continue; }
                        // The rejected request is counted; a wait cut short by the end of the run must not uncount it.
                        try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds, 1000) * (0.5 + random.NextDouble())), stop); }
                        catch (OperationCanceledException) { return; }
                        continue;
                    }
                    if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref state.Errors); state.Problem($"{kind}: {(int)response.StatusCode} {body}"); continue; }
                    JsonNode? answer = null;
                    string? problem = kind switch
                    {
                        "create" => CheckCreate(body, out memory),
                        "stream" => CheckStream(body, memory!, out answer),
                        _ => CheckAsk(body, memory!, out answer),
                    };
                    if (problem is not null) { Garble(state, kind, problem); continue; }
                    if (kind == "create") state.Acknowledged[memory!] = true;
                    else state.Answered(answer!);
                    state.Accepted(kind, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { Interlocked.Decrement(ref state.Requests); }
            catch (HttpRequestException e) { Interlocked.Increment(ref state.Errors); state.Problem($"{kind}: {e.Message}"); }
        }
    }

    static void Garble(State state, string kind, string problem)
    {
        Interlocked.Increment(ref state.Garbled);
        state.Problem($"{kind}: {problem}");
    }

    static string? CheckCreate(string body, out string? id)
    {
        var memory = JsonNode.Parse(body);
        id = memory?["id"]?.GetValue<string>();
        if (id is not { Length: 64 } || !id.All(Uri.IsHexDigit)) return $"create returned no 64-hex id: {body}";
        return memory!["context_tokens"]?.GetValue<int>() > 0 && memory["memory_tokens"]?.GetValue<int>() > 0 ? null : $"create returned no token counts: {body}";
    }

    static string? CheckAsk(string body, string memory, out JsonNode? answer)
    {
        answer = JsonNode.Parse(body);
        if (answer?["memory_id"]?.GetValue<string>() != memory) return $"answer for another memory: {body}";
        return answer["answer"] is null || answer["answer_tokens"] is null ? $"answer without text or token count: {body}" : null;
    }

    // Strict Server-Sent Events: `event:` and `data:` lines, blank line after each event, tokens then one `done`.
    static string? CheckStream(string body, string memory, out JsonNode? answer)
    {
        answer = null;
        if (!body.EndsWith("\n\n")) return "stream does not end with a blank line";
        var streamed = new StringBuilder();
        var events = body[..^2].Split("\n\n");
        for (int i = 0; i < events.Length; i++)
        {
            var lines = events[i].Split('\n');
            if (lines.Length != 2 || !lines[0].StartsWith("event: ") || !lines[1].StartsWith("data: ")) return $"malformed event '{events[i]}'";
            string name = lines[0]["event: ".Length..];
            var data = JsonNode.Parse(lines[1]["data: ".Length..]);
            if (name == "token" && i < events.Length - 1) streamed.Append(data!["text"]!.GetValue<string>());
            else if (name == "done" && i == events.Length - 1)
                return (answer = data)!["memory_id"]?.GetValue<string>() == memory && data!["answer"]!.GetValue<string>() == streamed.ToString().Trim()
                    ? null : "streamed tokens do not add up to the final answer";
            else return $"unexpected event '{name}' at position {i}";
        }
        return "stream without a done event";
    }

    static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    static async Task<long?> Rss(HttpClient http)
    {
        try { return JsonNode.Parse(await http.GetStringAsync("/ready"))?["rss_bytes"]?.GetValue<long>(); }
        catch (HttpRequestException) { return null; }
    }

    static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

    /// <summary>Short invented documents of about <paramref name="sentences"/> sentences (±25%), the same for a seed.</summary>
    public static IReadOnlyList<string> Documents(int count, int seed, int sentences)
    {
        var random = new Random(seed);
        string[] names = ["Marta", "Ivo", "Sanna", "Teodor", "Lin", "Okke", "Rhea", "Basil"];
        string[] places = ["the lighthouse", "the mill", "the harbour", "the orchard", "the ferry", "the school"];
        string[] things = ["a red lamp", "a grey cat", "nine letters", "a silver key", "a copper kettle", "an old map"];
        return Enumerable.Range(0, count).Select(d => string.Join(" ", Enumerable.Range(0, Math.Max(1, sentences * 3 / 4 + random.Next(sentences / 2 + 1))).Select(_ =>
            $"{names[random.Next(names.Length)]} lives at {places[random.Next(places.Length)]} and keeps {things[random.Next(things.Length)]}."))).ToList();
    }
}
