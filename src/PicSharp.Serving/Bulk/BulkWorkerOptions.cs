namespace PicSharp.Serving.Bulk;

/// <summary>How `pic worker` takes documents.</summary>
public sealed record BulkWorkerOptions
{
    /// <summary>Documents the broker hands this worker ahead of the one it compresses: enough to never wait for the
    /// next, few enough that a dead worker's documents go to the others quickly.</summary>
    public ushort Prefetch { get; init; } = 2;
    /// <summary>Tries per document (deliveries included) before it is dead-lettered: a store that stays down, or a
    /// document its worker dies on each time, stops being retried.</summary>
    public int MaxAttempts { get; init; } = 5;
    /// <summary>Wait before a failed document goes back to the queue, doubled on each further attempt, so a store that
    /// is restarting is not hammered (1, 2, 4, 8 s by default: about 15 s of outage survived).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public void Validate()
    {
        if (Prefetch < 1) throw new InvalidInputException($"--prefetch must be at least 1, got {Prefetch}");
        if (MaxAttempts is < 1 or > 100) throw new InvalidInputException($"--max-attempts must be between 1 and 100, got {MaxAttempts}");
        if (RetryDelay < TimeSpan.Zero) throw new InvalidInputException($"the retry delay must not be negative, got {RetryDelay.TotalSeconds} s");
    }
}
