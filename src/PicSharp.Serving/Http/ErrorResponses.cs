using System.Text.Json;
using Microsoft.AspNetCore.Http;
using PicSharp.Compression;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Http;

/// <summary>
/// One mapping from the service's exceptions to HTTP answers (<see cref="InvalidInputException"/> and its kinds 4xx,
/// a closed queue or a store that cannot be reached 503, anything else a bug, 500): RFC 7807 problem JSON on the PicSharp API, OpenAI's
/// `{"error": {...}}` on the OpenAI-compatible paths (its clients read that shape). Full or closed queues add Retry-After.
/// </summary>
static class ErrorResponses
{
    public static (int Status, string Message)? Of(Exception e) => e switch
    {
        HttpProblem p => (p.Status, p.Message),
        ContextTooLongException => (StatusCodes.Status413PayloadTooLarge, e.Message),
        PicSharp.Answering.PromptTooLongException => (StatusCodes.Status422UnprocessableEntity, e.Message),
        MemoryNotFoundException => (StatusCodes.Status404NotFound, e.Message),
        ForeignMemoryException => (StatusCodes.Status409Conflict, e.Message),
        QueueFullException => (StatusCodes.Status429TooManyRequests, e.Message),
        QueueClosedException => (StatusCodes.Status503ServiceUnavailable, e.Message),
        StoreUnavailableException => (StatusCodes.Status503ServiceUnavailable, e.Message),
        InvalidInputException => (StatusCodes.Status400BadRequest, e.Message),
        _ => null,
    };

    /// <summary>How long a client should wait before trying again, for the errors that pass.</summary>
    public static TimeSpan? RetryAfter(Exception e) => e switch
    {
        QueueFullException full => full.RetryAfter,
        QueueClosedException or StoreUnavailableException => TimeSpan.FromSeconds(5),
        _ => null,
    };

    /// <summary>What a client learns of a bug: that it is ours, and the id that finds its trace in the log.</summary>
    public static string InternalMessage(HttpContext context) => "internal error; see the server log for request " + context.TraceIdentifier;

    public static bool IsOpenAiPath(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/v1/chat") || context.Request.Path.StartsWithSegments("/v1/models");

    public static object Body(HttpContext context, int status, string message) => IsOpenAiPath(context)
        ? new { error = new { message, type = status >= 500 ? "server_error" : "invalid_request_error", code = status } }
        : new { type = $"https://httpstatuses.io/{status}", title = ReasonPhrases(status), status, detail = message, request_id = context.TraceIdentifier };

    public static async Task WriteAsync(HttpContext context, int status, string message, JsonSerializerOptions json, TimeSpan? retryAfter = null)
    {
        context.Response.StatusCode = status;
        if (retryAfter is TimeSpan wait) context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString();
        if (status == StatusCodes.Status401Unauthorized) context.Response.Headers.WWWAuthenticate = "Bearer";
        context.Response.ContentType = IsOpenAiPath(context) ? "application/json" : "application/problem+json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(Body(context, status, message), json));
    }

    static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
