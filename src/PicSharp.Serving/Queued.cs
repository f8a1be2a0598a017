namespace PicSharp.Serving;

/// <summary>A job's result with how long it waited in the queue, how long it ran, and how many jobs ran with it as
/// one batch (itself included; 1 when it ran alone).</summary>
public sealed record Queued<T>(T Result, TimeSpan QueueWait, TimeSpan ModelTime, int BatchSize = 1);
