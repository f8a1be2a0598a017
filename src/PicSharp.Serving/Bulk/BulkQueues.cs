using RabbitMQ.Client;

namespace PicSharp.Serving.Bulk;

/// <summary>
/// The broker's side of bulk compression, declared alike by every publisher and worker (declaring is idempotent):
/// <list type="bullet">
/// <item><c>pic.documents</c>: one durable message per document (a quorum queue: replicated where the broker is a
/// cluster, and it counts deliveries, so a document that kills its worker every time is not retried forever);</item>
/// <item><c>pic.documents.dead</c>: documents no worker can compress, with the reason in the <c>pic-reason</c> header;</item>
/// <item><c>pic.batch.NAME</c>: one per batch, the results workers report (<see cref="BatchResult"/>), read by
/// `pic batch-status` and `pic enqueue --wait` without taking them away.</item>
/// </list>
/// </summary>
public static class BulkQueues
{
    public const string Documents = "pic.documents";
    public const string DeadLetters = "pic.documents.dead";
    public const string ReasonHeader = "pic-reason";
    public const string SourceHeader = "pic-source";
    /// <summary>Deliveries before this one, counted by the quorum queue (absent on the first).</summary>
    public const string DeliveryCountHeader = "x-delivery-count";

    public static string Results(string batch) => $"pic.batch.{batch}";

    public static async Task DeclareAsync(IChannel channel, CancellationToken cancel)
    {
        await channel.QueueDeclareAsync(Documents, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancel);
        await channel.QueueDeclareAsync(DeadLetters, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancel);
    }

    /// <summary>A batch's results queue; unused for a week, the broker drops it.</summary>
    public static Task DeclareResultsAsync(IChannel channel, string batch, CancellationToken cancel) =>
        channel.QueueDeclareAsync(Results(batch), durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-expires"] = (int)TimeSpan.FromDays(7).TotalMilliseconds }, cancellationToken: cancel);

    /// <summary>A connection to the broker at <paramref name="broker"/> (amqp://user:password@host:port/vhost); one that
    /// cannot be made is the broker being unavailable, named.</summary>
    public static async Task<IConnection> ConnectAsync(string broker, string clientName, CancellationToken cancel)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
            throw new InvalidInputException($"--broker '{broker}' is not an amqp:// address such as amqp://guest:guest@127.0.0.1:5672/");
        // A broker restart reconnects the connection, its channels and consumers on their own.
        var factory = new ConnectionFactory
        {
            Uri = uri, ClientProvidedName = clientName, AutomaticRecoveryEnabled = true, TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
        };
        try { return await factory.CreateConnectionAsync(cancel); }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException e)
        {
            throw new BrokerUnavailableException($"the broker at {Describe(uri)} is unavailable: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    /// <summary>The broker's address without its password.</summary>
    public static string Describe(Uri broker) => $"{broker.Scheme}://{broker.Host}:{(broker.IsDefaultPort ? 5672 : broker.Port)}{broker.AbsolutePath}";
}
