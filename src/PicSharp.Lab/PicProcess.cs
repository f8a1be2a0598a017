using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Lab;

/// <summary>
/// One `pic` child process for the drills (`pic serve` on a free loopback port, or `pic worker`): standard output
/// drained, standard error kept for the message if it fails, killed with SIGKILL when the drill says so.
/// </summary>
public sealed class PicProcess : IDisposable
{
    readonly StringBuilder errors = new();

    readonly HttpClient? http;

    public Process Process { get; }
    /// <summary>The server's client; only `pic serve` has one.</summary>
    public HttpClient Http => http ?? throw new InvalidOperationException("this pic process serves no HTTP");

    PicProcess(Process process, Uri? address)
    {
        Process = process;
        if (address is not null) http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
    }

    /// <summary>`pic serve ARGS --url http://127.0.0.1:PORT` on a free port.</summary>
    /// <param name="picCommand">how to start `pic` (the program and any arguments before `serve`).</param>
    public static PicProcess StartServe(IReadOnlyList<string> picCommand, IEnumerable<string> serveArgs)
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        return Start(picCommand, ["serve", .. serveArgs, "--url", address.ToString().TrimEnd('/')], address);
    }

    /// <summary>`pic ARGS` (a command that serves no HTTP, such as `pic worker`).</summary>
    public static PicProcess Start(IReadOnlyList<string> picCommand, IEnumerable<string> args, Uri? address = null)
    {
        var start = new ProcessStartInfo(picCommand[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (string arg in picCommand.Skip(1).Concat(args)) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new IOException($"could not start {picCommand[0]}");
        var started = new PicProcess(process, address);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { lock (started.errors) started.errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    public string Errors { get { lock (errors) return errors.ToString(); } }

    public async Task WaitReadyAsync(CancellationToken cancel)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(3))
        {
            if (Process.HasExited)
                throw new IOException($"the server exited with code {Process.ExitCode} before it was ready: {Errors}");
            try { if ((await Http.GetAsync("/ready", cancel)).IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            await Task.Delay(200, cancel);
        }
        Process.Kill();
        throw new TimeoutException("the server was not ready within 3 minutes");
    }

    /// <summary>SIGKILL on Linux: no shutdown code runs.</summary>
    public void Kill() => Process.Kill();

    /// <summary>
    /// Streams creates at this server from <paramref name="clients"/> clients (client c's i-th text is
    /// <paramref name="text"/>(c, i)) and kills it with SIGKILL once <paramref name="killAfter"/> were acknowledged, while
    /// the others are in flight; returns the ids of the acknowledged memories.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> KillDuringCreatesAsync(int clients, int killAfter, Func<int, int, string> text, CancellationToken cancel)
    {
        var stream = new CreateStream();
        await StreamCreatesAsync(stream, clients, text, s =>
        {
            if (s.AcknowledgedCount < killAfter) return false;
            Kill();
            return true;
        }, cancel);
        await Process.WaitForExitAsync(cancel);
        return stream.Acknowledged;
    }

    /// <summary>
    /// Streams creates at this server from <paramref name="clients"/> clients (client c's i-th text is
    /// <paramref name="text"/>(c, i)) until <paramref name="enough"/> says so (asked after every answer, until it first
    /// says yes) or the server exits; every answer is counted in <paramref name="stream"/>, which the caller may read meanwhile.
    /// </summary>
    public async Task StreamCreatesAsync(CreateStream stream, int clients, Func<int, int, string> text, Func<CreateStream, bool> enough, CancellationToken cancel)
    {
        using var done = new CancellationTokenSource();
        var gate = new Lock();
        var streams = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int i = 0; !done.IsCancellationRequested; i++)
            {
                try
                {
                    var body = new StringContent(JsonSerializer.Serialize(new { text = text(c, i) }), Encoding.UTF8, "application/json");
                    var response = await Http.PostAsync("/v1/memories", body, done.Token);
                    if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                        stream.Acknowledge(JsonNode.Parse(await response.Content.ReadAsStringAsync(done.Token))!["id"]!.GetValue<string>());
                    else
                    {
                        stream.Refuse(response);
                        // As a client should: wait as told, at most a second, so the drill keeps probing for recovery.
                        var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(100);
                        await Task.Delay(wait < TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), done.Token);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                {
                    if (Process.HasExited || done.IsCancellationRequested) return;
                    stream.Fail();
                }
                lock (gate)
                    if (!done.IsCancellationRequested && enough(stream)) done.Cancel();
            }
        }, cancel)).ToList();
        await Task.WhenAll(streams);
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.WaitForExit();
        Process.Dispose();
        http?.Dispose();
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
