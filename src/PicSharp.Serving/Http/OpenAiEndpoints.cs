using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PicSharp.Answering;
using PicSharp.Modeling;

namespace PicSharp.Serving.Http;

/// <summary>
/// OpenAI-compatible `/v1/chat/completions` (streaming and not) and `/v1/models`, the convention llama.cpp's server,
/// vLLM and Ollama follow. <see cref="ChatTurns"/> splits the chat: the context is compressed once (cached in the
/// store by its hash) and the question is answered from memory. The memory id comes back in the
/// `X-Pic-Memory-Id` header. A chat with no earlier messages is answered by the frozen base model from the question
/// alone (the `X-Pic-Context: none` header says so). temperature, top_p, stop and seed are honoured; n must be 1.
/// </summary>
static class OpenAiEndpoints
{
    public sealed record ChatMessage(string? Role, JsonElement Content);
    public sealed record StreamOptions(bool IncludeUsage);
    public sealed record ChatRequest(string? Model, IReadOnlyList<ChatMessage>? Messages, bool Stream = false, int? MaxTokens = null,
        int? MaxCompletionTokens = null, StreamOptions? StreamOptions = null, double? Temperature = null, double? TopP = null,
        JsonElement? Stop = null, int? N = null, ulong? Seed = null);

    public sealed record Message(string Role, string Content);
    public sealed record Choice(int Index, Message Message, string FinishReason);
    public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);
    public sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<Choice> Choices, Usage Usage);
    public sealed record Delta(string? Role, string? Content);
    public sealed record ChunkChoice(int Index, Delta Delta, string? FinishReason);
    public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices, Usage? Usage);
    public sealed record ModelInfo(string Id, string Object, long Created, string OwnedBy);
    public sealed record ModelList(string Object, IReadOnlyList<ModelInfo> Data);

    public static void Map(IEndpointRouteBuilder app, MemoryService service, ServeOptions options, JsonSerializerOptions json)
    {
        long started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var api = app.MapGroup("/v1").WithTags("openai");

        api.MapGet("/models", () => Results.Json(new ModelList("list",
                [.. new[] { options.ModelName }.Concat(options.ModelAliases).Distinct().Select(name => new ModelInfo(name, "model", started, "picsharp"))]), json))
            .WithSummary("The served model and its aliases (OpenAI-compatible; any model name is answered by the served model)").Produces<ModelList>();

        api.MapPost("/chat/completions", async (HttpContext context, CancellationToken _) =>
        {
            var request = await JsonBody.ReadAsync<ChatRequest>(context, options.MaxBodyBytes, json);
            // Any model name is taken, as llama.cpp's server does: OpenAI clients send their own; the answer names the served model.
            if (request.N is int n && n != 1) throw new HttpProblem(400, $"n is {n}; this server returns one choice (n = 1)");
            var (history, question) = Split(request.Messages);
            int maxTokens = MemoryEndpoints.MaxTokens(request.MaxCompletionTokens ?? request.MaxTokens, options);
            var sampling = new Sampling
            {
                Temperature = request.Temperature ?? 0, TopP = request.TopP ?? 1, Seed = request.Seed ?? 0, Stop = StopStrings(request.Stop),
            };
            sampling.Validate();

            string? memoryId = null;
            int contextTokens = 0;
            if (history is not null)
            {
                var memory = await service.CreateAsync(history, null, context.RequestAborted);
                memoryId = memory.Record.Id;
                contextTokens = memory.Record.ContextTokens;
                context.Response.Headers["X-Pic-Memory-Id"] = memoryId;
            }
            else context.Response.Headers["X-Pic-Context"] = "none"; // answered by the frozen base model from the question alone
            Task<Queued<AnswerResult>> Ask(Action<string>? onText) => memoryId is null
                ? service.AskFromTextAsync(null, question, maxTokens, onText, context.RequestAborted, sampling)
                : service.AskAsync(memoryId, question, maxTokens, onText, context.RequestAborted, sampling);

            string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Usage UsageOf(AnswerResult a) => new(contextTokens + a.PromptTokens, a.AnswerTokens, contextTokens + a.PromptTokens + a.AnswerTokens);
            if (!request.Stream)
            {
                var answer = (await Ask(null)).Result;
                await context.Response.WriteAsJsonAsync(new ChatCompletion(id, "chat.completion", created, options.ModelName,
                    [new Choice(0, new Message("assistant", answer.Text), answer.Reason.Name())], UsageOf(answer)), json);
                return;
            }

            ChatCompletionChunk Chunk(Delta delta, string? finish) => new(id, "chat.completion.chunk", created, options.ModelName, [new ChunkChoice(0, delta, finish)], null);
            var events = new EventStream(json);
            events.Post(null, Chunk(new Delta("assistant", ""), null));
            var work = Ask(text => events.Post(null, Chunk(new Delta(null, text), null)));
            await events.RunAsync(context, work, async () =>
            {
                var answer = work.Result.Result;
                await events.WriteAsync(context, null, JsonSerializer.Serialize(Chunk(new Delta(null, null), answer.Reason.Name()), json));
                if (request.StreamOptions?.IncludeUsage == true)
                    await events.WriteAsync(context, null, JsonSerializer.Serialize(new ChatCompletionChunk(id, "chat.completion.chunk", created, options.ModelName, [], UsageOf(answer)), json));
                await events.WriteAsync(context, null, "[DONE]");
            }, e => MemoryEndpoints.Describe(context, e));
        }).WithSummary("Chat completion (OpenAI-compatible): earlier messages are compressed into a memory, the last user message is answered from it")
          .Accepts<ChatRequest>("application/json").Produces<ChatCompletion>();
    }

    static (string? Context, string Question) Split(IReadOnlyList<ChatMessage>? messages)
    {
        if (messages is null || messages.Count == 0) throw new HttpProblem(400, "'messages' is missing or empty");
        return ChatTurns.Split(messages.Select((m, i) => (m.Role ?? "", Text(m, i))).ToList());
    }

    // OpenAI's stop: absent, null, one string or up to 4 strings.
    static IReadOnlyList<string> StopStrings(JsonElement? given) => given is not { } stop ? [] : stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => [],
        JsonValueKind.String => [stop.GetString()!],
        JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) => [.. stop.EnumerateArray().Select(s => s.GetString()!)],
        _ => throw new HttpProblem(400, "stop must be a string or an array of strings"),
    };

    // Content is a string or an array of parts; only text parts carry anything this server reads.
    static string Text(ChatMessage message, int index) => message.Content.ValueKind switch
    {
        JsonValueKind.String => message.Content.GetString()!,
        JsonValueKind.Array => message.Content.EnumerateArray().Aggregate(new StringBuilder(), (text, part) =>
            part.TryGetProperty("type", out var type) && type.GetString() == "text" && part.TryGetProperty("text", out var t)
                ? text.Append(t.GetString())
                : throw new HttpProblem(400, $"messages[{index}].content has a part that is not text; this server reads text only")).ToString(),
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => throw new HttpProblem(400, $"messages[{index}].content must be a string or an array of text parts"),
    };
}
