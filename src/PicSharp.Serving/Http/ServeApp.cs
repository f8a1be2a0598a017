using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PicSharp.Serving.Store;
using Scalar.AspNetCore;

namespace PicSharp.Serving.Http;

/// <summary>
/// `pic serve` as an ASP.NET Core app: the PicSharp API, the OpenAI-compatible endpoints, the web page at `/`, health
/// and readiness, the OpenAPI document (/openapi/v1.json) and its reference page (/scalar/v1). Model work goes through
/// one bounded <see cref="ModelQueue"/>; on shutdown the queue refuses new work and finishes what it accepted.
/// </summary>
public static class ServeApp
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <param name="configureLogging">replaces the console logging set-up (tests quieten it).</param>
    public static WebApplication Build(PicEngine engine, IMemoryStore store, ServeOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Url);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.ConfigureHttpJsonOptions(http =>
        {
            http.SerializerOptions.PropertyNamingPolicy = Json.PropertyNamingPolicy;
            http.SerializerOptions.DefaultIgnoreCondition = Json.DefaultIgnoreCondition;
        });
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "PicSharp";
            document.Info.Description = "Compress a document once into a soft-prompt memory (PIC), then ask it many questions.";
            return Task.CompletedTask;
        }));
        builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = options.RequestTimeout,
            TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            WriteTimeoutResponse = context => ErrorResponses.WriteAsync(context, StatusCodes.Status504GatewayTimeout,
                $"the request took longer than this service's {options.RequestTimeout.TotalSeconds:0.#} s limit", Json),
        });
        builder.Logging.ClearProviders();
        if (configureLogging is not null) configureLogging(builder.Logging);
        else if (options.JsonLogs) builder.Logging.AddJsonConsole(json => json.IncludeScopes = true);
        else builder.Logging.AddSimpleConsole(console => { console.IncludeScopes = true; console.SingleLine = true; });
        // ASP.NET's own per-request lines repeat what the request log says; its warnings and errors still show.
        if (configureLogging is null) builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(services => new ModelQueue(options.QueueCapacity, services.GetRequiredService<ILoggerFactory>().CreateLogger<ModelQueue>(), maxBatch: options.MaxBatch));
        builder.Services.AddSingleton(services => new MemoryService(engine, store, services.GetRequiredService<ModelQueue>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<MemoryService>()));

        var app = builder.Build();
        var service = app.Services.GetRequiredService<MemoryService>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PicSharp.Serving.Requests");
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            service.Queue.Close();
            logger.LogInformation("shutting down: refusing new work, finishing {Waiting} queued job(s)", service.Queue.Waiting);
        });

        app.Use((context, next) => HandleErrorsAsync(context, next, logger));
        // Whatever the framework answers without a body (415 wrong content type, 404 no such route, 405, a query
        // value that does not bind) gets the same JSON error body as the API's own errors.
        app.UseStatusCodePages(pages => pages.HttpContext.Response.HasStarted || pages.HttpContext.Response.ContentLength > 0
            ? Task.CompletedTask
            : ErrorResponses.WriteAsync(pages.HttpContext, pages.HttpContext.Response.StatusCode, FrameworkProblem(pages.HttpContext), Json));
        app.Use((context, next) => CheckApiKeyAsync(context, next, options.ApiKey));
        app.UseRequestTimeouts();

        app.MapGet("/", () => Results.Content(WebPage.Html, "text/html; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/health", () => Results.Json(new { status = "ok" }, Json)).WithTags("health").WithSummary("Liveness: the process answers");
        app.MapGet("/ready", () => service.Queue.IsClosed
                ? Results.Json(new { status = "shutting-down" }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
                : StoreProblem(store) is string problem
                ? Results.Json(new { status = "store-unavailable", store = store.Location, detail = problem }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Json(new { status = "ready", store = store.Location, queue_waiting = service.Queue.Waiting, queue_capacity = service.Queue.Capacity,
                    max_batch = service.Queue.MaxBatch, batches = service.Queue.Batches, batched_questions = service.Queue.BatchedJobs, largest_batch = service.Queue.LargestBatch,
                    compressor_id = engine.CompressorId, max_context_tokens = engine.MaxContextTokens, rss_bytes = Environment.WorkingSet }, Json))
            .WithTags("health").WithSummary("Readiness: model loaded, taking work, and the store can be read and written");
        app.MapOpenApi();
        app.MapScalarApiReference();
        MemoryEndpoints.Map(app, service, options, Json);
        OpenAiEndpoints.Map(app, service, options, Json);
        return app;
    }

    // One line per request (the host's logging scope adds RequestId and path); user errors become their 4xx, anything
    // else is a bug: 500 with the request id, the full trace in the log.
    static async Task HandleErrorsAsync(HttpContext context, RequestDelegate next, ILogger logger)
    {
        long start = Stopwatch.GetTimestamp();
        try { await next(context); }
        catch (Exception e) when (ErrorResponses.Of(e) is var (status, message) && !context.Response.HasStarted)
        {
            await ErrorResponses.WriteAsync(context, status, message, Json, ErrorResponses.RetryAfter(e));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            logger.LogInformation("{Method} {Path}: the client went away after {Ms:F0} ms; its work was cancelled",
                context.Request.Method, context.Request.Path, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            return;
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Method} {Path}: internal error (request {RequestId})", context.Request.Method, context.Request.Path, context.TraceIdentifier);
            if (context.Response.HasStarted) throw;
            context.Response.Clear();
            await ErrorResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorResponses.InternalMessage(context), Json);
        }
        logger.LogInformation("{Method} {Path} -> {Status} in {Ms:F0} ms", context.Request.Method, context.Request.Path,
            context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    // The API needs the key when one is set; the page, health checks and API description stay open.
    static Task CheckApiKeyAsync(HttpContext context, RequestDelegate next, string? apiKey)
    {
        if (apiKey is null || !context.Request.Path.StartsWithSegments("/v1")) return next(context);
        string header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && // schemes are case-insensitive (RFC 9110)
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), Encoding.UTF8.GetBytes(apiKey)))
            return next(context);
        string problem = header.Length == 0 ? "this service needs an API key: send 'Authorization: Bearer <key>'" : "the API key is wrong";
        return ErrorResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, problem, Json);
    }

    static string FrameworkProblem(HttpContext context) => context.Response.StatusCode switch
    {
        StatusCodes.Status415UnsupportedMediaType => $"the request body must be JSON (Content-Type: application/json), got '{context.Request.ContentType}'",
        StatusCodes.Status404NotFound => $"no such path: {context.Request.Method} {context.Request.Path}",
        StatusCodes.Status405MethodNotAllowed => $"{context.Request.Path} does not take {context.Request.Method}",
        int status => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status).ToLowerInvariant(),
    };

    // Null when the store file is there and a read and a write (rolled back) both work.
    static string? StoreProblem(IMemoryStore store)
    {
        try
        {
            store.CheckReadWrite();
            return null;
        }
        catch (Exception e) { return e.Message; }
    }
}
