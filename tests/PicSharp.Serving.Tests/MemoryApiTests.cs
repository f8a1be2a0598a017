using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Tests;

/// <summary>The PicSharp HTTP API on a real Kestrel server over loopback: ids, caching, status codes, streaming framing.</summary>
[Collection(nameof(TinyService))]
public sealed class MemoryApiTests(TinyService tiny)
{
    static async Task<JsonObject> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Same_text_is_stored_once_and_asked_many_times()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var first = await server.Http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage }));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var memory = await Json(first);
        string id = memory["id"]!.GetValue<string>();
        Assert.Equal(64, id.Length);
        Assert.Equal($"/v1/memories/{id}", first.Headers.Location!.ToString());
        int contextTokens = memory["context_tokens"]!.GetValue<int>();
        Assert.Equal(server.Engine.Tokenize(TinyService.Passage).Count, contextTokens);
        Assert.Equal((contextTokens + 3) / 4, memory["memory_tokens"]!.GetValue<int>()); // ratio 4
        Assert.True(memory["model_ms"]!.GetValue<double>() > 0);

        var again = await server.Http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage }));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var cached = await Json(again);
        Assert.Equal(id, cached["id"]!.GetValue<string>());
        Assert.False(cached["new"]!.GetValue<bool>());
        Assert.Equal(0, cached["model_ms"]!.GetValue<double>());
        Assert.Equal(1, server.Store.Count());

        for (int i = 0; i < 2; i++)
        {
            var answer = await Json(await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who kept the lighthouse?", max_tokens = 6 })));
            Assert.Equal(id, answer["memory_id"]!.GetValue<string>());
            Assert.Equal("memory", answer["mode"]!.GetValue<string>());
            Assert.InRange(answer["answer_tokens"]!.GetValue<int>(), 0, 6);
        }
        var full = await Json(await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 4, full_context = true })));
        Assert.Equal("full-context", full["mode"]!.GetValue<string>());
        Assert.True(full["prompt_tokens"]!.GetValue<int>() > contextTokens); // the whole text is in the prompt

        var metadata = await Json(await server.Http.GetAsync($"/v1/memories/{id}"));
        Assert.Equal(server.Engine.CompressorId, metadata["compressor_id"]!.GetValue<string>());
        Assert.Equal("pic", metadata["policy"]!.GetValue<string>());
        var list = await Json(await server.Http.GetAsync("/v1/memories"));
        Assert.Equal(1, list["total"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.DeleteAsync($"/v1/memories/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync($"/v1/memories/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.DeleteAsync($"/v1/memories/{id}")).StatusCode);
        var gone = await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?" }));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains(id, (await Json(gone))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Append_gives_a_new_memory_that_matches_compressing_the_whole_text()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        string more = " In 1930 a storm broke the lamp, and Marta fixed it with wire from a fence.";
        var first = await Json(await server.Http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage })));
        string id = first["id"]!.GetValue<string>();
        var appended = await server.Http.PostAsync($"/v1/memories/{id}/append", Body(new { text = more }));
        Assert.Equal(HttpStatusCode.Created, appended.StatusCode);
        var extended = await Json(appended);
        Assert.NotEqual(id, extended["id"]!.GetValue<string>());
        int expectedTokens = first["context_tokens"]!.GetValue<int>() + server.Engine.Tokenize(more).Count;
        Assert.Equal(expectedTokens, extended["context_tokens"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v1/memories/{id}")).StatusCode); // the old memory stays

        // Under `pic`, the appended memory equals compressing old + new token ids in one go (up to float rounding:
        // the chunks are batched differently).
        using var stored = server.Store.Load(extended["id"]!.GetValue<string>())!.Decode(server.Engine.CompressorId, null);
        using var whole = server.Engine.Compress(stored.ContextIds!);
        var appendedMemory = stored.Memory;
        Assert.Equal(whole.Embeddings!.shape, appendedMemory.Embeddings!.shape);
        Assert.True(PicSharp.Tests.TinyModels.MaxAbsDiff(whole.Embeddings, appendedMemory.Embeddings) < 1e-4);
    }

    [Fact]
    public async Task Streaming_ask_sends_token_events_then_done_with_the_same_answer()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var memory = await Json(await server.Http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage })));
        string id = memory["id"]!.GetValue<string>();
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/memories/{id}/ask") { Content = Body(new { question = "What colour?", max_tokens = 12, stream = true }) };
        using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = ServerSentEvents.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("done", events[^1].Name);
        Assert.All(events[..^1], e => Assert.Equal("token", e.Name));
        var done = JsonNode.Parse(events[^1].Data)!;
        string streamed = string.Concat(events[..^1].Select(e => JsonNode.Parse(e.Data)!["text"]!.GetValue<string>()));
        Assert.Equal(done["answer"]!.GetValue<string>(), streamed.Trim());

        // The same question without streaming gives the same (greedy) answer.
        var plain = await Json(await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "What colour?", max_tokens = 12 })));
        Assert.Equal(done["answer"]!.GetValue<string>(), plain["answer"]!.GetValue<string>());
    }

    [Fact]
    public async Task Streaming_create_reports_progress_then_the_memory()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        string text = string.Join(" ", Enumerable.Repeat(TinyService.Passage, 3));
        using var response = await server.Http.PostAsync("/v1/memories", Body(new { text, stream = true }));
        var events = ServerSentEvents.Parse(await response.Content.ReadAsStringAsync());
        var progress = events.Where(e => e.Name == "progress").Select(e => JsonNode.Parse(e.Data)!["done"]!.GetValue<int>()).ToList();
        int total = server.Engine.Tokenize(text).Count;
        Assert.True(progress.Count >= 3, $"{progress.Count} progress events for {total} tokens");
        Assert.Equal(progress.Order(), progress);
        Assert.Equal(total, progress[^1]);
        Assert.Equal("memory", events[^1].Name);
        Assert.Equal(total, JsonNode.Parse(events[^1].Data)!["context_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Bad_requests_get_4xx_naming_the_problem()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { MaxBodyBytes = 4096 });
        async Task<(HttpStatusCode, string)> Post(string path, HttpContent content)
        {
            var response = await server.Http.PostAsync(path, content);
            return (response.StatusCode, (await Json(response))["detail"]!.GetValue<string>());
        }

        var (status, detail) = await Post("/v1/memories", Body(new { text = "   " }));
        Assert.Equal((HttpStatusCode.BadRequest, true), (status, detail.Contains("empty")));
        (status, detail) = await Post("/v1/memories", new ByteArrayContent([(byte)'{', (byte)'"', (byte)'t', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}']));
        Assert.Equal((HttpStatusCode.BadRequest, true), (status, detail.Contains("not valid UTF-8 (bad byte at offset 6)")));
        (status, detail) = await Post("/v1/memories", new StringContent("{\"text\": ", Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.BadRequest, true), (status, detail.Contains("not the expected JSON")));
        (status, detail) = await Post("/v1/memories", Body(new { text = new string('a', 5000) }));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, true), (status, detail.Contains("at most 4096 bytes")));

        string longText = string.Join(" ", Enumerable.Repeat(TinyService.Passage, 12));
        int tokens = server.Engine.Tokenize(longText).Count;
        Assert.True(tokens > 384 && longText.Length < 4000);
        (status, detail) = await Post("/v1/memories", Body(new { text = longText }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains($"has {tokens} tokens but this compressor takes at most 384", detail);

        (status, detail) = await Post("/v1/memories/abc/ask", Body(new { question = "Who?", max_tokens = 1000 }));
        Assert.Equal((HttpStatusCode.BadRequest, true), (status, detail.Contains("at most 256")));
        Assert.Equal(0, server.Store.Count()); // nothing half-stored
    }

    [Fact]
    public async Task Api_key_guards_the_api_but_not_health_or_the_page()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { ApiKey = "s3cret" });
        using var anonymous = new HttpClient { BaseAddress = server.Address };
        var refused = await anonymous.GetAsync("/v1/memories");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Authorization: Bearer", (await Json(refused))["detail"]!.GetValue<string>());
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/memories")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v1/memories")).StatusCode);
    }

    [Fact]
    public async Task Describes_itself_with_openapi_and_a_reference_page_and_reports_readiness()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var document = JsonNode.Parse(await server.Http.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/v1/memories", paths);
        Assert.Contains("/v1/memories/{id}/ask", paths);
        Assert.Contains("/v1/chat/completions", paths);
        Assert.NotNull(document["paths"]!["/v1/memories"]!["post"]!["requestBody"]);
        Assert.Contains("scalar", (await server.Http.GetStringAsync("/scalar/v1")).ToLowerInvariant());
        var ready = JsonNode.Parse(await server.Http.GetStringAsync("/ready"))!;
        Assert.Equal("ready", ready["status"]!.GetValue<string>());
        Assert.Equal(server.Engine.CompressorId, ready["compressor_id"]!.GetValue<string>());
    }
}
