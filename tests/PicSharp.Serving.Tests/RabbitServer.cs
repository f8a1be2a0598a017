using PicSharp.Serving.Bulk;
using RabbitMQ.Client;

namespace PicSharp.Serving.Tests;

/// <summary>
/// A real RabbitMQ node for the tests, started by scripts/rabbitmq-local.sh in a temporary folder on free loopback
/// ports (a node name, Erlang cookie and epmd of its own), and stopped and deleted after.
/// </summary>
public sealed class RabbitServer : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-rabbit-").FullName;

    public int Port { get; }
    public string Address => $"amqp://guest:guest@127.0.0.1:{Port}/";

    public RabbitServer()
    {
        // The node also listens on PORT+1 (epmd) and PORT+2 (distribution): take a port whose two neighbours are free.
        Port = Enumerable.Range(0, 20).Select(_ => RepoFolder.FreePort()).First(p => p < 65000 && IsFree(p + 1) && IsFree(p + 2));
        try { Start(); }
        catch
        {
            Stop();
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Starts the node (again, after <see cref="Stop"/>) on the same ports and data.</summary>
    public void Start() => RepoFolder.RunScript("rabbitmq-local.sh", "start", dir, Port.ToString());

    public void Stop() => RepoFolder.RunScript("rabbitmq-local.sh", "stop", dir);

    /// <summary>A shell command that restarts this node (for the broker restart drill).</summary>
    public string RestartCommand
    {
        get
        {
            string script = Path.Combine(RepoFolder.Root, "scripts", "rabbitmq-local.sh");
            return $"'{script}' stop '{dir}' && '{script}' start '{dir}' {Port}";
        }
    }

    static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    public Task<IConnection> ConnectAsync() => BulkQueues.ConnectAsync(Address, "pic tests", CancellationToken.None);

    /// <summary>Empties the shared queues, so a test starts with nothing left over from the one before.</summary>
    public async Task PurgeAsync()
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await BulkQueues.DeclareAsync(channel, CancellationToken.None);
        await channel.QueuePurgeAsync(BulkQueues.Documents);
        await channel.QueuePurgeAsync(BulkQueues.DeadLetters);
    }

    /// <summary>Takes every message off the dead-letter queue: each one's reason header and body.</summary>
    public async Task<IReadOnlyList<(string? Reason, byte[] Body)>> DrainDeadLettersAsync()
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var letters = new List<(string?, byte[])>();
        while (await channel.BasicGetAsync(BulkQueues.DeadLetters, autoAck: true) is { } message)
            letters.Add((BulkWorker.Header(message.BasicProperties, BulkQueues.ReasonHeader), message.Body.ToArray()));
        return letters;
    }

    public async Task<uint> WaitingDocumentsAsync()
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(BulkQueues.Documents)).MessageCount;
    }

    public void Dispose()
    {
        try { Stop(); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
