using System.Text.Json;
using Microsoft.AspNetCore.Http;
using System.Threading.Channels;

namespace PicSharp.Serving.Http;

/// <summary>
/// Server-Sent Events on a response: the model thread posts events into a channel and the request writes and flushes
/// each one as it comes, so tokens reach the client while the answer is still being generated.
/// </summary>
sealed class EventStream
{
    readonly Channel<(string? Event, string Data)> events = Channel.CreateUnbounded<(string?, string)>(new UnboundedChannelOptions { SingleReader = true });
    readonly JsonSerializerOptions json;

    public EventStream(JsonSerializerOptions json) => this.json = json;

    /// <summary>Posts an event from any thread.</summary>
    public void Post(string? name, object data) => events.Writer.TryWrite((name, data as string ?? JsonSerializer.Serialize(data, json)));

    /// <summary>Writes posted events until <paramref name="work"/> ends, then its final events; a failure becomes an `error` event.</summary>
    public async Task RunAsync(HttpContext context, Task work, Func<Task>? onSuccess, Func<Exception, object> describeError)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.Body.FlushAsync(context.RequestAborted);
        _ = work.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var (name, data) in events.Reader.ReadAllAsync(context.RequestAborted))
            await WriteAsync(context, name, data);
        try
        {
            await work;
            if (onSuccess is not null) await onSuccess();
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            await WriteAsync(context, "error", JsonSerializer.Serialize(describeError(e), json));
        }
    }

    public async Task WriteAsync(HttpContext context, string? name, string data)
    {
        string frame = (name is null ? "" : $"event: {name}\n") + $"data: {data}\n\n";
        await context.Response.WriteAsync(frame, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
