using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Bulk;

/// <summary>Where a batch stands: its size (null until the publisher finished), documents done and failed (each
/// counted once, however often it was redelivered), and the failures with their reasons.</summary>
/// <param name="Repeats">done reports beyond the first for a document: compressed again after a redelivery (a worker
/// died between committing and acknowledging), which the content-addressed id turns into a lookup, not a second row.</param>
/// <param name="MemoryIds">the memory of each document done, by its index in the batch.</param>
public sealed record BatchStatus(string Batch, int? Total, int Done, int Failed, IReadOnlyList<BatchResult> Failures, int Repeats,
    IReadOnlyDictionary<int, string> MemoryIds)
{
    /// <summary>Documents with no result yet; unknown (null) while the batch is still being published.</summary>
    public int? Pending => Total - Done - Failed;

    public bool Finished => Pending == 0;

    /// <summary>Reads the batch's results queue without taking anything from it: every message is fetched
    /// unacknowledged and handed back when the channel closes, so another reader (or the next poll) sees them all
    /// again. A reader polling at the same moment may see fewer for that one read.</summary>
    public static async Task<BatchStatus> ReadAsync(IConnection connection, string batch, CancellationToken cancel)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancel);
        uint count;
        try { count = (await channel.QueueDeclarePassiveAsync(BulkQueues.Results(batch), cancel)).MessageCount; }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            throw new InvalidInputException($"there is no batch '{batch}' on this broker (never published, or unused for a week and dropped)");
        }
        int? total = null;
        var done = new Dictionary<int, string>();
        int repeats = 0;
        var failed = new Dictionary<int, BatchResult>();
        for (uint i = 0; i < count; i++)
        {
            var message = await channel.BasicGetAsync(BulkQueues.Results(batch), autoAck: false, cancel);
            if (message is null) break;
            var result = JsonSerializer.Deserialize<BatchResult>(message.Body.Span, ServeApp.Json)!;
            if (result.Total is int size) total = size;
            else if (result.Status == BatchResult.Done && !done.TryAdd(result.Index, result.MemoryId ?? "")) repeats++;
            else if (result.Status == BatchResult.Failed) failed.TryAdd(result.Index, result);
        }
        // A document that failed once and was then compressed (a retry that worked) is done.
        foreach (int index in done.Keys) failed.Remove(index);
        await channel.CloseAsync(cancel); // hands the fetched messages back
        return new BatchStatus(batch, total, done.Count, failed.Count, [.. failed.Values.OrderBy(f => f.Index)], repeats, done);
    }
}
