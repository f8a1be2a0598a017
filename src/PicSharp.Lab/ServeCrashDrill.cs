using System.Diagnostics;
using System.Net;
using PicSharp.Cli.Benchmarks;
using PicSharp.Serving.Store;

namespace PicSharp.Lab;

/// <param name="ServerCommand">how to start `pic` (the program and any arguments before `serve`).</param>
public sealed record CrashDrillOptions(IReadOnlyList<string> ServerCommand, string ModelDir, string CompressorDir, string StorePath,
    int Rounds = 3, int Clients = 8, int KillAfterAcknowledged = 20, int Seed = 1, int Sentences = 12);

/// <param name="Acknowledged">creates answered 201/200 before the kill.</param>
/// <param name="Stored">rows in the store after the kill (acknowledged ones, plus any committed whose answer never left).</param>
/// <param name="Missing">acknowledged memories absent after the kill (must be 0).</param>
/// <param name="Broken">rows whose tensors or token ids do not match their metadata (must be 0).</param>
/// <param name="MissingAfterRestart">memories acknowledged in earlier rounds that the restarted server does not serve (must be 0).</param>
public sealed record CrashRound(int Round, int Acknowledged, int Stored, int Missing, int Broken, string Integrity, int MissingAfterRestart, double RestartSeconds);

/// <summary>
/// `kill -9` drill of the memory store: start `pic serve` as a child process, stream creates at it from several
/// clients, SIGKILL it while creates are in flight, then check the SQLite file (integrity_check, every row whole) and
/// that every acknowledged memory is there; restart on the same file and check the server still serves the earlier ones.
/// </summary>
public static class ServeCrashDrill
{
    /// <summary>The `pic` beside this program (the lab references it), run through `dotnet`.</summary>
    public static IReadOnlyList<string> CurrentPicCommand() => PicCommand(typeof(PicSharp.Cli.CommandCatalog).Assembly.Location);

    /// <summary>How to run the given pic.dll: through the running `dotnet` host, else the `dotnet` on the PATH.</summary>
    public static IReadOnlyList<string> PicCommand(string picDll)
    {
        string process = Environment.ProcessPath ?? "dotnet";
        return [Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet", picDll];
    }

    public static async Task<IReadOnlyList<CrashRound>> RunAsync(CrashDrillOptions options, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (options.Rounds < 1 || options.Clients < 1 || options.KillAfterAcknowledged < 1) throw new InvalidInputException("rounds, clients and --kill-after must be at least 1");
        var everAcknowledged = new HashSet<string>();
        var rounds = new List<CrashRound>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            using var server = PicProcess.StartServe(options.ServerCommand, ["--model", options.ModelDir, "--compressor", options.CompressorDir,
                "--store", options.StorePath, "--queue", "256", "--timeout", "600"]);
            var http = server.Http;
            await server.WaitReadyAsync(cancel);
            double restartSeconds = clock.Elapsed.TotalSeconds;

            int missingAfterRestart = 0;
            foreach (string id in everAcknowledged)
                if ((await http.GetAsync($"/v1/memories/{id}", cancel)).StatusCode != HttpStatusCode.OK) missingAfterRestart++;

            var acknowledged = await server.KillDuringCreatesAsync(options.Clients, options.KillAfterAcknowledged, (c, i) =>
                string.Join(" ", ServeLoad.Documents(1, options.Seed * 7919 + round * 131 + c, options.Sentences)) + $" Round {round}, client {c}, create {i}.", cancel);

            using var store = new SqliteMemoryStore(options.StorePath);
            string integrity = store.IntegrityCheck();
            int count = store.Count();
            int broken = StoreScan.Run(store).Count; // checksum, finite values, row against its memory file
            int missing = acknowledged.Count(id => store.Find(id) is null);
            everAcknowledged.UnionWith(acknowledged);
            var result = new CrashRound(round, acknowledged.Count, count, missing, broken, integrity, missingAfterRestart, restartSeconds);
            log?.Invoke($"round {round}: {result.Acknowledged} acknowledged, killed, {result.Stored} stored, {result.Missing} missing, {result.Broken} broken, integrity '{result.Integrity}', restart {result.RestartSeconds:F1} s, {result.MissingAfterRestart} earlier memories missing after restart");
            rounds.Add(result);
        }
        return rounds;
    }
}
