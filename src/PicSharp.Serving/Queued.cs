namespace PicSharp.Serving;

/// <summary>A job's result with how long it waited in the queue and how long it ran.</summary>
public sealed record Queued<T>(T Result, TimeSpan QueueWait, TimeSpan ModelTime);
