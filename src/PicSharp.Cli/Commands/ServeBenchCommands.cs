using System.CommandLine;
using System.Text.Json;
using PicSharp.Cli.Benchmarks;
using PicSharp.Storage;
using Spectre.Console;

namespace PicSharp.Cli.Commands;

/// <summary>`pic bench serve`: load test of a running `pic serve`.</summary>
static class ServeBenchCommands
{
    public static IEnumerable<Command> Create() => [Load()];

    static Command Load()
    {
        var url = new Option<string>("--url") { Description = "address of a running `pic serve` (loopback only)", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var clients = new Option<int>("--clients") { Description = "concurrent clients", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "how long to send requests", DefaultValueFactory = _ => 60 };
        var maxRequests = new Option<int>("--max-requests") { Description = "stop after this many requests in all", DefaultValueFactory = _ => 100_000 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "answer length of each ask", DefaultValueFactory = _ => 8 };
        var apiKey = new Option<string?>("--api-key") { Description = "the server's API key, if it has one" };
        var asksOnly = new Option<bool>("--asks-only") { Description = "after one create per client, only ask (half streamed): concurrent questions, the load `pic serve --max-batch` batches" };
        var json = new Option<FileInfo?>("--json") { Description = "also write the report to this JSON file" };
        var command = new Command("serve", "Load test of a running `pic serve` on loopback: mixed create / ask / streamed ask (or asks only), latency percentiles, answer tokens/s, batch sizes, 429s, errors, RSS")
        { url, clients, seconds, maxRequests, maxTokens, apiKey, asksOnly, json };
        command.SetAction(parse => CommandErrors.Run("pic bench serve", () =>
        {
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var address)) throw new ArgumentException($"--url '{parse.GetValue(url)}' is not an address");
            var options = new ServeLoadOptions(address, parse.GetValue(clients), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(maxRequests),
                parse.GetValue(apiKey), MaxTokens: parse.GetValue(maxTokens), AsksOnly: parse.GetValue(asksOnly));
            AnsiConsole.MarkupLineInterpolated($"[grey]{options.Clients} clients for {options.Duration.TotalSeconds:F0} s against {address} ({MachineDescription.Current().Cpu}, {Environment.ProcessorCount} cores)[/]");
            var report = ServeLoad.RunAsync(options).GetAwaiter().GetResult();
            var table = new Table().AddColumns("kind", "accepted", "p50 ms", "p95 ms", "p99 ms");
            foreach (var l in report.Latencies) table.AddRow(l.Kind, $"{l.Accepted}", $"{l.P50Ms:F0}", $"{l.P95Ms:F0}", $"{l.P99Ms:F0}");
            AnsiConsole.Write(table);
            static string Mb(long? bytes) => bytes is long b ? $"{b / 1e6:F0} MB" : "?";
            Console.WriteLine($"{report.Requests} requests in {report.Seconds:F1} s: {report.Accepted} accepted ({report.AcceptedPerSecond:F2}/s), " +
                $"{report.Rejected429} rejected with 429, {report.Errors} errors, {report.Garbled} garbled, {report.Lost} acknowledged memories lost; " +
                $"server RSS {Mb(report.RssStartBytes)} at start, {Mb(report.RssMaxBytes)} max, {Mb(report.RssEndBytes)} at end");
            Console.WriteLine($"answers: {report.AnswerTokens} tokens, {report.AnswerTokensPerSecond:F1} answer tokens/s, decoded in batches of {report.MeanBatchSize:F2} on average");
            foreach (string problem in report.Problems) Console.WriteLine($"  {problem}");
            if (parse.GetValue(json) is { } file) AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(new { machine = MachineDescription.Current(), options = new { url = address.ToString(), options.Clients, seconds = options.Duration.TotalSeconds, options.MaxRequests, options.MaxTokens, options.AsksOnly }, report }, new JsonSerializerOptions { WriteIndented = true }));
            return report.Errors + report.Garbled + report.Lost == 0 ? 0 : 2;
        }));
        return command;
    }
}
