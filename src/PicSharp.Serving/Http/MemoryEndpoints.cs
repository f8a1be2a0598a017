using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Serving.Store;
using PicSharp.Storage;

namespace PicSharp.Serving.Http;

/// <summary>
/// The PicSharp API: create a memory from text, append to it, ask it (JSON or Server-Sent Events), ask a raw context
/// in one call, read metadata, list and delete. Memory ids are content hashes, so creating the same text twice gives
/// the same id and the second call costs no model time; appending gives a new id and keeps the old memory.
/// </summary>
static class MemoryEndpoints
{
    public sealed record CreateRequest(string? Text, bool Stream = false);
    public sealed record AskRequest(string? Question, int? MaxTokens = null, bool Stream = false, bool FullContext = false);
    public sealed record AskContextRequest(string? Context, string? Question, int? MaxTokens = null, bool Stream = false, bool FullContext = false);

    public sealed record MemoryView(
        string Id, string CompressorId, string BaseModelId, string Kind, string Policy, int Ratio, int ChunkLength,
        int ContextTokens, int MemoryTokens, long Bytes, DateTimeOffset CreatedAt, bool New, double QueueMs, double ModelMs)
    {
        public static MemoryView Of(MemoryRecord r, bool isNew = false, TimeSpan queue = default, TimeSpan model = default) => new(
            r.Id, r.CompressorId, r.BaseModelId, KebabCase.Name(r.Kind), r.Policy.Name(), r.Ratio, r.ChunkLength, r.ContextTokens, r.MemoryTokens,
            r.Bytes, r.Created, isNew, queue.TotalMilliseconds, model.TotalMilliseconds);
    }

    public sealed record MemoryList(IReadOnlyList<MemoryView> Memories, int Total, int Offset, int Limit);

    /// <param name="BatchSize">questions decoded together with this one (itself included; 1 when it ran alone).</param>
    public sealed record AnswerView(string? MemoryId, string Mode, string Answer, int PromptTokens, int AnswerTokens, string StopReason, double QueueMs, double ModelMs, int BatchSize);

    public sealed record Progress(int Done, int Total);

    public sealed record Token(string Text);

    public static void Map(IEndpointRouteBuilder app, MemoryService service, ServeOptions options, JsonSerializerOptions json)
    {
        var api = app.MapGroup("/v1").WithTags("memories");

        api.MapPost("/memories", async (HttpContext context, CancellationToken _) =>
        {
            var request = await JsonBody.ReadAsync<CreateRequest>(context, options.MaxBodyBytes, json);
            string text = JsonBody.Required(request.Text, "text");
            await CreateAsync(context, request.Stream, progress => service.CreateAsync(text, progress, context.RequestAborted));
        }).WithSummary("Compress a text into a memory (its id is the hash of compressor and tokens)")
          .Accepts<CreateRequest>("application/json").Produces<MemoryView>(201).Produces<MemoryView>(200)
          .ProducesProblem(400).ProducesProblem(413).ProducesProblem(429);

        api.MapGet("/memories", (string? offset, string? limit) =>
        {
            int from = Paging(offset, "offset", 0), count = Paging(limit, "limit", 50);
            if (from < 0 || count is < 1 or > 1000) throw new HttpProblem(400, $"offset must be ≥ 0 and limit 1..1000, got {from} and {count}");
            return Results.Json(new MemoryList(service.Store.List(from, count).Select(r => MemoryView.Of(r)).ToList(), service.Store.Count(), from, count), json);
        }).WithSummary("List stored memories, newest first").Produces<MemoryList>();

        api.MapGet("/memories/{id}", (string id) => Results.Json(MemoryView.Of(service.Get(id)), json))
            .WithSummary("A memory's metadata").Produces<MemoryView>().ProducesProblem(404);

        api.MapDelete("/memories/{id}", (string id) => { service.Delete(id); return Results.NoContent(); })
            .WithSummary("Delete a memory").Produces(204).ProducesProblem(404);

        api.MapPost("/memories/{id}/append", async (HttpContext context, string id) =>
        {
            var request = await JsonBody.ReadAsync<CreateRequest>(context, options.MaxBodyBytes, json);
            string text = JsonBody.Required(request.Text, "text");
            await CreateAsync(context, request.Stream, progress => service.AppendAsync(id, text, progress, context.RequestAborted));
        }).WithSummary("A new memory of this memory's text followed by more text (only new chunks are compressed)")
          .Accepts<CreateRequest>("application/json").Produces<MemoryView>(201).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413);

        api.MapPost("/memories/{id}/ask", async (HttpContext context, string id) =>
        {
            var request = await JsonBody.ReadAsync<AskRequest>(context, options.MaxBodyBytes, json);
            string question = JsonBody.Required(request.Question, "question");
            int maxTokens = MaxTokens(request.MaxTokens, options);
            string mode = request.FullContext ? "full-context" : "memory";
            await AnswerAsync(context, request.Stream, id, mode, onText => request.FullContext
                ? service.AskFullContextAsync(id, question, maxTokens, onText, context.RequestAborted)
                : service.AskAsync(id, question, maxTokens, onText, context.RequestAborted));
        }).WithSummary("Answer a question from a memory (or, with full_context, from the whole text for comparison); stream = Server-Sent Events")
          .Accepts<AskRequest>("application/json").Produces<AnswerView>().ProducesProblem(404).ProducesProblem(409).ProducesProblem(422).ProducesProblem(429);

        api.MapPost("/ask", async (HttpContext context, CancellationToken _) =>
        {
            var request = await JsonBody.ReadAsync<AskContextRequest>(context, options.MaxBodyBytes, json);
            string text = JsonBody.Required(request.Context, "context");
            string question = JsonBody.Required(request.Question, "question");
            int maxTokens = MaxTokens(request.MaxTokens, options);
            if (request.FullContext)
            {
                await AnswerAsync(context, request.Stream, null, "full-context",
                    onText => service.AskFromTextAsync(text, question, maxTokens, onText, context.RequestAborted));
                return;
            }
            var memory = await service.CreateAsync(text, null, context.RequestAborted);
            await AnswerAsync(context, request.Stream, memory.Record.Id, "memory",
                onText => service.AskAsync(memory.Record.Id, question, maxTokens, onText, context.RequestAborted));
        }).WithSummary("Compress a context (cached by its hash) and answer a question from its memory in one call; with full_context, answer from the whole text in the prompt instead (nothing is compressed)")
          .Accepts<AskContextRequest>("application/json").Produces<AnswerView>().ProducesProblem(400).ProducesProblem(413).ProducesProblem(429);

        async Task CreateAsync(HttpContext context, bool stream, Func<Action<int, int>?, Task<MemoryResult>> create)
        {
            if (!stream)
            {
                var result = await create(null);
                Created(context, result);
                await context.Response.WriteAsJsonAsync(View(result), json);
                return;
            }
            var events = new EventStream(json);
            var work = create((done, total) => events.Post("progress", new Progress(done, total)));
            await events.RunAsync(context, work, async () => await events.WriteAsync(context, "memory", JsonSerializer.Serialize(View(work.Result), json)),
                e => Describe(context, e));
        }

        async Task AnswerAsync(HttpContext context, bool stream, string? id, string mode, Func<Action<string>?, Task<Queued<AnswerResult>>> ask)
        {
            if (!stream)
            {
                var answer = await ask(null);
                await context.Response.WriteAsJsonAsync(Answer(id, mode, answer), json);
                return;
            }
            var events = new EventStream(json);
            var work = ask(text => events.Post("token", new Token(text)));
            await events.RunAsync(context, work, async () => await events.WriteAsync(context, "done", JsonSerializer.Serialize(Answer(id, mode, work.Result), json)),
                e => Describe(context, e));
        }
    }

    static MemoryView View(MemoryResult r) => MemoryView.Of(r.Record, r.Created, r.QueueWait, r.ModelTime);

    static void Created(HttpContext context, MemoryResult result)
    {
        context.Response.StatusCode = result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK;
        context.Response.Headers.Location = $"/v1/memories/{result.Record.Id}";
    }

    static AnswerView Answer(string? id, string mode, Queued<AnswerResult> q) => new(id, mode, q.Result.Text, q.Result.PromptTokens,
        q.Result.AnswerTokens, q.Result.Reason.Name(), q.QueueWait.TotalMilliseconds, q.ModelTime.TotalMilliseconds, q.BatchSize);

    // Paging values are parsed here, so a value that is not a number gets a message instead of the framework's bare 400.
    static int Paging(string? value, string name, int missing) =>
        value is null ? missing
        : int.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n
        : throw new HttpProblem(400, $"{name} must be a whole number, got '{value}'");

    public static int MaxTokens(int? requested, ServeOptions options) => requested switch
    {
        null => options.DefaultMaxNewTokens,
        < 1 => throw new HttpProblem(400, $"max_tokens must be at least 1, got {requested}"),
        int n when n > options.MaxNewTokensLimit => throw new HttpProblem(400, $"max_tokens is {n}; this service allows at most {options.MaxNewTokensLimit}"),
        int n => n,
    };

    // Once a stream has started its status is sent; a failure becomes an `error` event with the status it would have had.
    public static object Describe(HttpContext context, Exception e)
    {
        var (status, message) = ErrorResponses.Of(e) ?? (e is OperationCanceledException
            ? (StatusCodes.Status504GatewayTimeout, "the request was cancelled or ran out of time")
            : (StatusCodes.Status500InternalServerError, ErrorResponses.InternalMessage(context)));
        if (status == StatusCodes.Status500InternalServerError)
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("PicSharp.Serving.Requests")
                .LogError(e, "{Method} {Path}: internal error in a stream (request {RequestId})", context.Request.Method, context.Request.Path, context.TraceIdentifier);
        return ErrorResponses.Body(context, status, message);
    }
}
