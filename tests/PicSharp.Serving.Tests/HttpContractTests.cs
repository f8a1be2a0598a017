using Microsoft.Extensions.Logging;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Tests;

/// <summary>
/// What a client can rely on at the HTTP boundary: one JSON error body for every non-2xx (framework-level ones
/// included), chat settings honoured or refused, the OpenAI conventions (text streamed as it is returned, a chat
/// without context answered from the question alone), honest readiness, and identical creates sharing one compression.
/// </summary>
[Collection(nameof(TinyService))]
public sealed class HttpContractTests(TinyService tiny)
{
    static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    static async Task<JsonNode> Json(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    // The PicSharp API's error body: problem JSON with the status, a detail naming the problem and the request id.
    static async Task<string> Problem(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await Json(response);
        Assert.Equal((int)status, body["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(body["request_id"]?.GetValue<string>()));
        return body["detail"]!.GetValue<string>();
    }

    // The OpenAI paths' error body: {"error": {"message", "type", "code"}}.
    static async Task<string> OpenAiError(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        var error = (await Json(response))["error"]!;
        Assert.Equal((int)status, error["code"]!.GetValue<int>());
        return error["message"]!.GetValue<string>();
    }

    [Fact]
    public async Task Framework_level_errors_get_the_same_json_body_and_name_no_internal_types()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var wrongType = await server.Http.PostAsync("/v1/memories", new StringContent("{\"text\": \"hi\"}", Encoding.UTF8, "text/plain"));
        Assert.Contains("Content-Type: application/json", await Problem(wrongType, HttpStatusCode.UnsupportedMediaType));

        Assert.Contains("limit must be a whole number, got 'ten'", await Problem(await server.Http.GetAsync("/v1/memories?limit=ten"), HttpStatusCode.BadRequest));
        Assert.Contains("no such path", await Problem(await server.Http.GetAsync("/v1/nothing-here"), HttpStatusCode.NotFound));

        string detail = await Problem(await server.Http.PostAsync("/v1/memories", Body(new { text = 5 })), HttpStatusCode.BadRequest);
        Assert.Contains("'text' must be a string", detail);
        detail = await Problem(await server.Http.PostAsync("/v1/memories", new StringContent("[1, 2]", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Contains("the body must be a JSON object", detail);
        string chat = await OpenAiError(await server.Http.PostAsync("/v1/chat/completions", Body(new { messages = "hello" })), HttpStatusCode.BadRequest);
        Assert.Contains("'messages' must be an array", chat);
        foreach (string text in new[] { detail, chat })
        {
            Assert.DoesNotContain("PicSharp.", text);
            Assert.DoesNotContain("System.", text);
        }
    }

    [Fact]
    public async Task A_client_that_never_sends_its_body_gets_408()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { RequestTimeout = TimeSpan.FromSeconds(2) });
        using var client = new TcpClient();
        await client.ConnectAsync(server.Address.Host, server.Address.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/memories HTTP/1.1\r\nHost: {server.Address.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"te"));
        // Read until the error body's last field has come (the connection may stay open).
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!received.ToString().Contains("request_id"))
        {
            int read = await stream.ReadAsync(buffer, deadline.Token);
            if (read == 0) break;
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        string response = received.ToString();
        Assert.StartsWith("HTTP/1.1 408", response);
        Assert.Contains("application/problem+json", response);
        Assert.Contains("did not arrive", response);
    }

    [Fact]
    public async Task A_bug_is_a_500_with_the_request_id_and_the_trace_in_the_log_while_bad_input_is_a_4xx()
    {
        var log = new CapturedLog();
        var options = new ServeOptions { Url = "http://127.0.0.1:0" };
        string storeDir = Directory.CreateTempSubdirectory("pic-store-").FullName;
        using var engine = tiny.OpenEngine();
        using var store = new FaultyStore(new Store.SqliteMemoryStore(Path.Combine(storeDir, "memories.db")));
        var app = ServeApp.Build(engine, store, options, logging => logging.AddProvider(log));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            // A KeyNotFoundException from inside the code is a bug, not a 404 or a 400.
            var response = await http.GetAsync("/v1/memories");
            string detail = await Problem(response, HttpStatusCode.InternalServerError);
            string requestId = (await Json(await http.GetAsync("/v1/memories")))["request_id"]!.GetValue<string>();
            Assert.Contains("internal error; see the server log for request", detail);
            Assert.Contains(log.Errors, e => e.Exception is KeyNotFoundException && e.Message.Contains(requestId));
            Assert.Contains(log.Errors, e => e.Exception!.StackTrace!.Contains(nameof(FaultyStore)));
            // Bad input is still the client's: 400 naming it, and no error logged for it.
            int errors = log.Errors.Count;
            Assert.Contains("'text' is missing", await Problem(await http.PostAsync("/v1/memories", Body(new { })), HttpStatusCode.BadRequest));
            Assert.Equal(errors, log.Errors.Count);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(storeDir, recursive: true);
        }
    }

    [Fact]
    public async Task Readiness_fails_when_the_store_is_deleted_or_corrupt()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/ready")).StatusCode);
        string path = server.Store.Path;

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        byte[] original = File.ReadAllBytes(path);
        File.WriteAllBytes(path, Enumerable.Repeat((byte)'x', original.Length).ToArray());
        foreach (string side in new[] { path + "-wal", path + "-shm" }) File.Delete(side);
        var corrupt = await server.Http.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, corrupt.StatusCode);
        Assert.Equal("store-unavailable", (await Json(corrupt))["status"]!.GetValue<string>());

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(path);
        var deleted = await server.Http.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, deleted.StatusCode);
        Assert.Contains("no longer exists", (await Json(deleted))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Chat_settings_are_honoured_or_refused_and_unknown_roles_are_named()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        async Task<HttpResponseMessage> Post(object extra)
        {
            var body = JsonSerializer.SerializeToNode(new
            {
                messages = new[] { new { role = "system", content = TinyService.Passage }, new { role = "user", content = "Who kept the lighthouse?" } },
                max_tokens = 12,
            })!.AsObject();
            foreach (var (key, value) in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[key] = value?.DeepClone();
            return await server.Http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        }

        Assert.Contains("n is 2", await OpenAiError(await Post(new { n = 2 }), HttpStatusCode.BadRequest));
        Assert.Contains("temperature must be between 0 and 2", await OpenAiError(await Post(new { temperature = -1 }), HttpStatusCode.BadRequest));
        Assert.Contains("top_p", await OpenAiError(await Post(new { top_p = 0 }), HttpStatusCode.BadRequest));
        Assert.Contains("stop string is empty", await OpenAiError(await Post(new { stop = "" }), HttpStatusCode.BadRequest));
        var tool = await server.Http.PostAsync("/v1/chat/completions", Body(new
        {
            messages = new[] { new { role = "tool", content = "42" }, new { role = "user", content = "Who?" } },
        }));
        Assert.Contains("messages[0] has role 'tool'", await OpenAiError(tool, HttpStatusCode.BadRequest));

        // stop: the greedy answer cut before the stop string.
        string greedy = (await Json(await Post(new { })))["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        Assert.True(greedy.Length >= 4, $"the greedy answer '{greedy}' is too short to cut");
        string stop = greedy.Substring(greedy.Length / 2, 2);
        string cut = (await Json(await Post(new { stop = new[] { stop } })))["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        Assert.Equal(greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)].Trim(), cut);
        // temperature: sampling with a seed answers the same twice, and differs from greedy for some seed.
        var sampled = new List<string>();
        foreach (int seed in new[] { 1, 1, 2, 3, 4, 5 })
            sampled.Add((await Json(await Post(new { temperature = 2.0, seed })))["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(sampled[0], sampled[1]);
        Assert.Contains(sampled, s => s != greedy);
    }

    [Fact]
    public async Task Streamed_chat_text_equals_the_returned_text_and_a_user_only_chat_is_answered_from_no_context()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var messages = new[] { new { role = "system", content = TinyService.Passage }, new { role = "user", content = "What was the cat called?" } };
        string whole = (await Json(await server.Http.PostAsync("/v1/chat/completions", Body(new { messages, max_tokens = 12 }))))["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        var streamed = await server.Http.PostAsync("/v1/chat/completions", Body(new { messages, max_tokens = 12, stream = true }));
        var pieces = ServerSentEvents.Parse(await streamed.Content.ReadAsStringAsync())
            .Where(e => e.Data != "[DONE]")
            .Select(e => JsonNode.Parse(e.Data)!["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>())
            .Where(text => !string.IsNullOrEmpty(text)).ToList();
        Assert.NotEmpty(pieces);
        Assert.False(char.IsWhiteSpace(pieces[0]![0]), $"the first streamed piece '{pieces[0]}' starts with white space");
        Assert.Equal(whole, string.Concat(pieces)); // exactly, not after trimming

        var alone = await server.Http.PostAsync("/v1/chat/completions", Body(new { messages = new[] { new { role = "user", content = "Who kept the lighthouse?" } }, max_tokens = 8 }));
        Assert.Equal(HttpStatusCode.OK, alone.StatusCode);
        Assert.Equal("none", alone.Headers.GetValues("X-Pic-Context").Single());
        var direct = await server.Service.AskFromTextAsync(null, "Who kept the lighthouse?", 8);
        Assert.Equal(direct.Result.Text, (await Json(alone))["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bearer_scheme_is_case_insensitive()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { ApiKey = "s3cret" });
        using var client = new HttpClient { BaseAddress = server.Address };
        foreach (string scheme in new[] { "bearer", "BEARER", "Bearer" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/memories");
            request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} s3cret");
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        }
    }

    [Fact]
    public async Task Ask_with_full_context_answers_from_the_text_and_compresses_nothing()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var response = await server.Http.PostAsync("/v1/ask", Body(new { context = TinyService.Passage, question = "Who kept the lighthouse?", max_tokens = 6, full_context = true }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await Json(response);
        Assert.Equal("full-context", answer["mode"]!.GetValue<string>());
        Assert.True(answer["prompt_tokens"]!.GetValue<int>() > server.Engine.Tokenize(TinyService.Passage).Count); // the whole text is in the prompt
        Assert.Equal(0, server.Store.Count());
        var direct = await server.Service.AskFromTextAsync(TinyService.Passage, "Who kept the lighthouse?", 6);
        Assert.Equal(direct.Result.Text, answer["answer"]!.GetValue<string>());
    }

    [Fact]
    public async Task Identical_creates_in_flight_share_one_compression_and_none_is_refused_for_the_duplicates()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { QueueCapacity = 4 });
        var (holder, release) = server.HoldModel();
        var creates = Enumerable.Range(0, 20).Select(_ => server.Http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage }))).ToList();
        await RunningServer.WaitFor(() => server.Service.CoalescedCreates == 19);
        Assert.Equal(1, server.Service.Queue.Waiting); // one compression queued for twenty callers
        release.Set();
        await holder;

        var responses = await Task.WhenAll(creates);
        Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}"));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var ids = await Task.WhenAll(responses.Select(async r => (await Json(r))["id"]!.GetValue<string>()));
        Assert.Single(ids.Distinct());
        Assert.Equal(1, server.Store.Count());
    }
}

/// <summary>A store with a bug: listing throws the KeyNotFoundException a wrong dictionary lookup would.</summary>
sealed class FaultyStore(Store.SqliteMemoryStore inner) : Store.IMemoryStore
{
    public string Location => inner.Location;
    public bool Add(Store.StoredMemory memory) => inner.Add(memory);
    public Store.MemoryRecord? Find(string id) => inner.Find(id);
    public Store.StoredMemory? Load(string id) => inner.Load(id);
    public bool Delete(string id) => inner.Delete(id);
    public IReadOnlyList<Store.MemoryRecord> List(int offset, int limit) => throw new KeyNotFoundException("The given key 'created' was not present in the dictionary.");
    public int Count() => inner.Count();
    public void CheckReadWrite() => inner.CheckReadWrite();
    public void Dispose() => inner.Dispose();
}

/// <summary>The errors a server logs, with their exceptions.</summary>
sealed class CapturedLog : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
{
    readonly List<(string Message, Exception? Exception)> errors = [];

    public IReadOnlyList<(string Message, Exception? Exception)> Errors { get { lock (errors) return [.. errors]; } }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Error;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) lock (errors) errors.Add((formatter(state, exception), exception));
    }

    public void Dispose() { }
}
