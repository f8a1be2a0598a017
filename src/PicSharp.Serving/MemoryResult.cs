using PicSharp.Serving.Store;

namespace PicSharp.Serving;

/// <summary>A memory the service created or found, and what creating it cost (zero when it was already stored).</summary>
public sealed record MemoryResult(MemoryRecord Record, bool Created, TimeSpan QueueWait, TimeSpan ModelTime);
