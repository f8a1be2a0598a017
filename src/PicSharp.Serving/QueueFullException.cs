namespace PicSharp.Serving;

/// <summary>The queue is full; try again after <see cref="RetryAfter"/>.</summary>
public sealed class QueueFullException(int capacity, TimeSpan retryAfter)
    : Exception($"the model queue is full ({capacity} jobs waiting); retry in {Math.Ceiling(retryAfter.TotalSeconds):F0} s")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
