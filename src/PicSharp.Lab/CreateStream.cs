using System.Collections.Concurrent;
using System.Net;

namespace PicSharp.Lab;

/// <summary>What a stream of creates got back (<see cref="PicProcess.StreamCreatesAsync"/>): the memories acknowledged,
/// the refusals by status, and the requests that got no answer while the server was running.</summary>
public sealed class CreateStream
{
    readonly ConcurrentDictionary<string, bool> acknowledged = new();
    readonly ConcurrentDictionary<int, int> refused = new();
    int unanswered, unavailableWithoutRetryAfter;

    public IReadOnlyCollection<string> Acknowledged => [.. acknowledged.Keys];
    public int AcknowledgedCount => acknowledged.Count;
    /// <summary>Answers other than 201/200, by status code.</summary>
    public IReadOnlyDictionary<int, int> Refused => refused;
    public int Unanswered => Volatile.Read(ref unanswered);
    /// <summary>503s without Retry-After (must be 0: a client must learn when to come back).</summary>
    public int UnavailableWithoutRetryAfter => Volatile.Read(ref unavailableWithoutRetryAfter);

    public void Acknowledge(string id) => acknowledged[id] = true;

    public void Refuse(HttpResponseMessage response)
    {
        refused.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is null)
            Interlocked.Increment(ref unavailableWithoutRetryAfter);
    }

    public void Fail() => Interlocked.Increment(ref unanswered);
}
