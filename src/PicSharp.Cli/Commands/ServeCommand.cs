using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using PicSharp.Serving.Http;
using PicSharp.Serving.Store;

namespace PicSharp.Cli.Commands;

/// <summary>`pic serve`: the HTTP service (API, OpenAI-compatible endpoints, web page) on 127.0.0.1 by default.</summary>
static class ServeCommand
{
    /// <summary>ASP.NET's own variable for the listening addresses, which every ASP.NET user tries first.</summary>
    const string UrlsVariable = "ASPNETCORE_URLS";

    /// <summary>The memory store without --store: the user's data folder ($XDG_DATA_HOME or ~/.local/share on Linux,
    /// %LOCALAPPDATA% on Windows), so memories outlive the folder `pic serve` was started from and never land in a
    /// repository by accident.</summary>
    public static string DefaultStore => Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "PicSharp", "pic-memories.db");

    public static Command Create()
    {
        var engine = new EngineOptions();
        var defaults = new ServeOptions();
        var url = new Option<string>("--url", "--urls")
        {
            Description = $"address(es) to listen on, ';'-separated as ASP.NET takes them (default: ${UrlsVariable}, else {defaults.Url})",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(UrlsVariable) is { Length: > 0 } urls ? urls : defaults.Url,
        };
        var store = new Option<string>("--store") { Description = $"memory store: a SQLite file, or a PostgreSQL address (postgres://user@host/db or Host=...;Database=...) that replicas share (default: {DefaultStore})" };
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1 (default: $PIC_API_KEY, else none)" };
        var queue = new Option<int>("--queue") { Description = "model jobs that may wait; more get 429", DefaultValueFactory = _ => defaults.QueueCapacity };
        var maxBatch = new Option<int>("--max-batch") { Description = "most waiting questions answered together as one decoding batch (1: one at a time)", DefaultValueFactory = _ => defaults.MaxBatch };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "largest request body", DefaultValueFactory = _ => defaults.MaxBodyBytes };
        var timeout = new Option<double>("--timeout") { Description = "seconds a request may take", DefaultValueFactory = _ => defaults.RequestTimeout.TotalSeconds };
        var maxContext = new Option<int?>("--max-context-tokens") { Description = "longest context (default: the model's max_position_embeddings)" };
        var modelName = new Option<string>("--model-name") { Description = "model id on the OpenAI-compatible endpoints (requests may name any model; answers name this one)", DefaultValueFactory = _ => defaults.ModelName };
        var modelAlias = new Option<string[]>("--model-alias") { Description = "more names /v1/models lists for the served model (repeatable)", AllowMultipleArgumentsPerToken = false };
        var jsonLogs = new Option<bool>("--json-logs") { Description = "structured JSON log lines instead of plain ones" };
        var command = new Command("serve", "HTTP service: compress once, ask many (API, OpenAI-compatible chat, web page at /)")
        { url, store, apiKey, queue, maxBatch, maxBody, timeout, maxContext, modelName, modelAlias, jsonLogs };
        var answering = new AnswerEngineOption();
        foreach (var option in engine.All.Concat(answering.All)) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic serve", () =>
        {
            var options = new ServeOptions
            {
                Url = parse.GetValue(url)!,
                ApiKey = parse.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("PIC_API_KEY") is { Length: > 0 } key ? key : null),
                QueueCapacity = parse.GetValue(queue),
                MaxBatch = parse.GetValue(maxBatch),
                MaxBodyBytes = parse.GetValue(maxBody),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                ModelName = parse.GetValue(modelName)!,
                ModelAliases = parse.GetValue(modelAlias) ?? [],
                JsonLogs = parse.GetValue(jsonLogs),
            };
            options.Validate();
            // llama.cpp gets one sequence per question the batching loop may put in one batch.
            using var pic = engine.Open(parse, parse.GetValue(maxContext), answering, options.MaxBatch);
            using var memories = MemoryStores.Open(parse.GetValue(store) ?? DefaultStore);
            Console.WriteLine($"memory store: {memories.Location}");
            using var app = ServeApp.Build(pic, memories, options);
            app.Run();
            return 0;
        }));
        return command;
    }
}
