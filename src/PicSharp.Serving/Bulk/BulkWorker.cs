using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Bulk;

/// <summary>
/// `pic worker`: takes documents from <see cref="BulkQueues.Documents"/> and compresses each through the same
/// <see cref="MemoryService.CreateAsync"/> as `pic serve` (same tokenising, limits and store). A document is
/// acknowledged only after its memory is committed, so a worker killed at any point loses nothing: the broker hands
/// the document to another worker, and the content-addressed id makes the second compression find the first's row
/// (or store the one row). Documents no worker can compress (not UTF-8, empty, too long) go to the dead-letter queue
/// with the reason; other failures (the store down) are retried after a growing wait, at most
/// <see cref="BulkWorkerOptions.MaxAttempts"/> times. One document at a time: the model is one thread anyway.
/// </summary>
public sealed class BulkWorker(MemoryService service, BulkWorkerOptions options, ILogger logger)
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    long done, deadLettered, retried;
    public long Done => Interlocked.Read(ref done);
    public long DeadLettered => Interlocked.Read(ref deadLettered);
    public long Retried => Interlocked.Read(ref retried);

    /// <summary>Takes documents until <paramref name="stop"/>, then finishes the one in hand and returns (documents
    /// prefetched but not started go back to the queue when the channel closes).</summary>
    /// <param name="consuming">called once the worker is taking documents.</param>
    public async Task RunAsync(IConnection connection, CancellationToken stop, Action? consuming = null)
    {
        options.Validate();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stop);
        await BulkQueues.DeclareAsync(channel, stop);
        await channel.BasicQosAsync(0, options.Prefetch, global: false, stop);
        var consumer = new AsyncEventingBasicConsumer(channel);
        var idle = new SemaphoreSlim(1, 1); // held while a document is in hand, so stopping waits for it
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await idle.WaitAsync(CancellationToken.None);
            try { await HandleAsync(channel, delivery, stop); }
            catch (OperationInterruptedException e)
            {
                logger.LogWarning("the broker went away with a document in hand ({Reason}); it will deliver it again", e.Message);
            }
            finally { idle.Release(); }
        };
        string tag = await channel.BasicConsumeAsync(BulkQueues.Documents, autoAck: false, consumer, stop);
        logger.LogInformation("worker taking documents from {Queue} (prefetch {Prefetch}, at most {Attempts} attempts each)", BulkQueues.Documents, options.Prefetch, options.MaxAttempts);
        consuming?.Invoke();
        await WhileConnectedAsync(channel, stop);
        await idle.WaitAsync(CancellationToken.None);
        try { await channel.BasicCancelAsync(tag, noWait: false, CancellationToken.None); }
        finally { idle.Release(); }
    }

    /// <summary>How long a lost channel may take to come back (a broker restart) before the worker gives up and exits.</summary>
    public static readonly TimeSpan ReconnectWithin = TimeSpan.FromSeconds(60);

    // Returns when told to stop. A lost channel is reconnected by the client (documents in hand are redelivered by the
    // broker, and their memories are already stored or get stored again); one gone for longer than ReconnectWithin
    // ends the worker with the reason, for its supervisor to restart.
    async Task WhileConnectedAsync(IChannel channel, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            AsyncEventHandler<ShutdownEventArgs> onShutdown = (_, e) => { lost.TrySetResult(e.ReplyText); return Task.CompletedTask; };
            channel.ChannelShutdownAsync += onShutdown;
            try { await Task.WhenAny(Task.Delay(Timeout.Infinite, stop), lost.Task); }
            catch (OperationCanceledException) { }
            channel.ChannelShutdownAsync -= onShutdown;
            if (!lost.Task.IsCompleted || stop.IsCancellationRequested) return;
            logger.LogWarning("lost the broker ({Reason}); reconnecting", lost.Task.Result);
            var deadline = DateTime.UtcNow + ReconnectWithin;
            while (!channel.IsOpen && DateTime.UtcNow < deadline && !stop.IsCancellationRequested)
                await Task.Delay(200, CancellationToken.None);
            if (!channel.IsOpen && !stop.IsCancellationRequested)
                throw new BrokerUnavailableException($"the broker was gone for {ReconnectWithin.TotalSeconds:0} s ({lost.Task.Result}); documents in hand go back to the queue", new IOException(lost.Task.Result));
            logger.LogInformation("reconnected to the broker");
        }
    }

    async Task HandleAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stop)
    {
        if (stop.IsCancellationRequested) // taken after the worker was told to stop: for another worker
        {
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
            return;
        }
        var properties = delivery.BasicProperties;
        byte[] body = delivery.Body.ToArray(); // the broker's buffer is reused after this handler returns
        string source = Header(properties, BulkQueues.SourceHeader) ?? properties.MessageId ?? "(unnamed)";
        int index = int.TryParse(properties.MessageId, out int i) ? i : -1;
        long earlier = properties.Headers?.TryGetValue(BulkQueues.DeliveryCountHeader, out object? count) == true ? Convert.ToInt64(count) : 0;
        if (earlier >= options.MaxAttempts)
        {
            await DeadLetterAsync(channel, delivery, body, source, index, $"delivered {earlier} times without a result (a worker died on it each time?)");
            return;
        }
        string text;
        try { text = StrictUtf8.GetString(body); }
        catch (DecoderFallbackException e)
        {
            await DeadLetterAsync(channel, delivery, body, source, index, $"the document is not valid UTF-8 (byte {e.Index} of {body.Length})");
            return;
        }
        try
        {
            var result = await service.CreateAsync(text);
            await ReportAsync(channel, properties.ReplyTo, new BatchResult(index, source, BatchResult.Done, result.Record.Id));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            Interlocked.Increment(ref done);
            logger.LogInformation("{Source}: memory {MemoryId} ({New})", source, result.Record.Id, result.Created ? "new" : "already stored");
        }
        catch (OperationInterruptedException) { throw; } // the broker is gone: nothing to acknowledge or retry on
        catch (InvalidInputException e) { await DeadLetterAsync(channel, delivery, body, source, index, e.Message); }
        catch (Exception e) when (earlier + 1 < options.MaxAttempts)
        {
            logger.LogWarning("{Source}: attempt {Attempt} of {Attempts} failed, back to the queue: {Problem}", source, earlier + 1, options.MaxAttempts, e.Message);
            Interlocked.Increment(ref retried);
            if (!stop.IsCancellationRequested)
                await Task.Delay(options.RetryDelay * Math.Pow(2, earlier), stop).ContinueWith(_ => { }, TaskScheduler.Default);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
        }
        catch (Exception e) { await DeadLetterAsync(channel, delivery, body, source, index, $"gave up after {earlier + 1} attempts: {e.Message}"); }
    }

    // The copy on the dead-letter queue is confirmed before the original is acknowledged: a crash in between leaves
    // the document in both queues, never in neither.
    async Task DeadLetterAsync(IChannel channel, BasicDeliverEventArgs delivery, byte[] body, string source, int index, string reason)
    {
        var headers = new Dictionary<string, object?>(delivery.BasicProperties.Headers ?? new Dictionary<string, object?>())
        {
            [BulkQueues.ReasonHeader] = reason, [BulkQueues.SourceHeader] = source,
        };
        var copy = new BasicProperties(delivery.BasicProperties) { Persistent = true, Headers = headers };
        await channel.BasicPublishAsync("", BulkQueues.DeadLetters, mandatory: true, copy, body);
        await ReportAsync(channel, delivery.BasicProperties.ReplyTo, new BatchResult(index, source, BatchResult.Failed, Reason: reason));
        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        Interlocked.Increment(ref deadLettered);
        logger.LogWarning("{Source}: dead-lettered: {Reason}", source, reason);
    }

    // Not mandatory: a batch whose results queue was deleted (nobody waits for it) still gets compressed.
    static async Task ReportAsync(IChannel channel, string? resultsQueue, BatchResult result)
    {
        if (string.IsNullOrEmpty(resultsQueue)) return;
        await channel.BasicPublishAsync("", resultsQueue, mandatory: false, new BasicProperties { Persistent = true },
            JsonSerializer.SerializeToUtf8Bytes(result, ServeApp.Json));
    }

    /// <summary>A text header's value (AMQP delivers strings as bytes).</summary>
    public static string? Header(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.TryGetValue(name, out object? value) == true
            ? value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), string text => text, _ => value?.ToString() }
            : null;
}
