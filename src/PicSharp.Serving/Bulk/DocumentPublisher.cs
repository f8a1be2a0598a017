using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Bulk;

/// <summary>
/// `pic enqueue`'s side: one persistent message per document on <see cref="BulkQueues.Documents"/>, each confirmed by
/// the broker before the next is counted (a publisher that dies mid-batch knows exactly what was handed over), then the
/// batch's size on its results queue, so readers know when it is finished.
/// </summary>
public static class DocumentPublisher
{
    public static async Task PublishAsync(IConnection connection, string batch, IReadOnlyList<BulkDocument> documents,
        Action<int, int>? progress, CancellationToken cancel)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancel);
        await BulkQueues.DeclareAsync(channel, cancel);
        await BulkQueues.DeclareResultsAsync(channel, batch, cancel);
        for (int i = 0; i < documents.Count; i++)
        {
            var properties = new BasicProperties
            {
                Persistent = true, ContentType = "text/plain; charset=utf-8", MessageId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                CorrelationId = batch, ReplyTo = BulkQueues.Results(batch),
                Headers = new Dictionary<string, object?> { [BulkQueues.SourceHeader] = documents[i].Source },
            };
            await channel.BasicPublishAsync("", BulkQueues.Documents, mandatory: true, properties, Encoding.UTF8.GetBytes(documents[i].Text), cancel);
            progress?.Invoke(i + 1, documents.Count);
        }
        await channel.BasicPublishAsync("", BulkQueues.Results(batch), mandatory: true, new BasicProperties { Persistent = true },
            JsonSerializer.SerializeToUtf8Bytes(new BatchResult(-1, Total: documents.Count), ServeApp.Json), cancel);
    }
}
