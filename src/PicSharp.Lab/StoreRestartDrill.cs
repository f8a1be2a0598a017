using System.Diagnostics;
using System.Net;
using PicSharp.Cli.Benchmarks;

namespace PicSharp.Lab;

/// <param name="PicCommand">how to start `pic` (the program and any arguments before `serve`).</param>
/// <param name="Store">the PostgreSQL address the replica uses.</param>
/// <param name="Restart">a shell command that stops the database and starts it again (run with bash -c).</param>
/// <param name="Before">acknowledged creates before the restart.</param>
/// <param name="After">acknowledged creates after the restart command finished: the service recovered.</param>
public sealed record StoreRestartOptions(IReadOnlyList<string> PicCommand, string ModelDir, string CompressorDir, string Store, string Restart,
    int Clients = 8, int Before = 20, int After = 20, int Seed = 1, int Sentences = 12);

/// <param name="Acknowledged">creates answered 201/200 over the whole drill.</param>
/// <param name="Refused">answers other than 201/200 by status (503 expected while the database is down).</param>
/// <param name="UnavailableWithoutRetryAfter">503s that did not say when to retry (must be 0).</param>
/// <param name="Unanswered">requests that got no HTTP answer from the running server (must be 0).</param>
/// <param name="Lost">acknowledged memories the service does not serve at the end (must be 0).</param>
/// <param name="Recovered">the service acknowledged <see cref="StoreRestartOptions.After"/> creates after the restart, without being restarted itself.</param>
public sealed record StoreRestartResult(int Acknowledged, IReadOnlyDictionary<int, int> Refused, int UnavailableWithoutRetryAfter, int Unanswered,
    int Lost, bool Recovered, double RestartSeconds);

/// <summary>
/// The database restarted under load: creates stream at a `pic serve` on PostgreSQL, the restart command runs in the
/// middle, and the drill counts what clients got meanwhile (503 with Retry-After, nothing else), whether the service
/// recovered on its own, and whether every acknowledged memory is still served.
/// </summary>
public static class StoreRestartDrill
{
    public static async Task<StoreRestartResult> RunAsync(StoreRestartOptions options, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (options.Clients < 1 || options.Before < 1 || options.After < 1) throw new InvalidInputException("--clients, --before and --after must be at least 1");
        using var server = PicProcess.StartServe(options.PicCommand, ["--model", options.ModelDir, "--compressor", options.CompressorDir,
            "--store", options.Store, "--queue", "256", "--timeout", "600"]);
        await server.WaitReadyAsync(cancel);

        var stream = new CreateStream();
        int target = int.MaxValue; // acknowledged creates that end the stream: set once the restart is done
        var streaming = server.StreamCreatesAsync(stream, options.Clients, (c, i) =>
            string.Join(" ", ServeLoad.Documents(1, options.Seed * 7919 + c, options.Sentences)) + $" Restart drill, client {c}, create {i}.",
            s => s.AcknowledgedCount >= Volatile.Read(ref target), cancel);
        while (stream.AcknowledgedCount < options.Before)
        {
            if (streaming.IsCompleted) throw new IOException($"the server exited before the restart: {server.Errors}");
            await Task.Delay(50, cancel);
        }

        var clock = Stopwatch.StartNew();
        await ShellCommand.RunAsync(options.Restart, "the restart command", cancel);
        double restartSeconds = clock.Elapsed.TotalSeconds;
        int atRestart = stream.AcknowledgedCount;
        log?.Invoke($"database restarted in {restartSeconds:F1} s with {atRestart} creates acknowledged");
        Volatile.Write(ref target, atRestart + options.After);
        bool recovered = await Task.WhenAny(streaming, Task.Delay(TimeSpan.FromMinutes(2), cancel)) == streaming && stream.AcknowledgedCount >= atRestart + options.After;
        Volatile.Write(ref target, 0); // not recovered within two minutes: the next answer ends the stream
        await streaming;

        int lost = 0;
        foreach (string id in stream.Acknowledged)
            if ((await server.Http.GetAsync($"/v1/memories/{id}", cancel)).StatusCode != HttpStatusCode.OK) lost++;
        var result = new StoreRestartResult(stream.AcknowledgedCount, stream.Refused, stream.UnavailableWithoutRetryAfter, stream.Unanswered, lost, recovered, restartSeconds);
        log?.Invoke($"{result.Acknowledged} acknowledged, refused {string.Join(", ", result.Refused.OrderBy(r => r.Key).Select(r => $"{r.Value}x {r.Key}"))}, " +
            $"{result.UnavailableWithoutRetryAfter} 503s without Retry-After, {result.Unanswered} unanswered, {result.Lost} lost, recovered on its own: {result.Recovered}");
        return result;
    }
}
