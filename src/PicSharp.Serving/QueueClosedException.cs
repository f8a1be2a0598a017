namespace PicSharp.Serving;

/// <summary>The queue takes no more work (the service is shutting down).</summary>
public sealed class QueueClosedException() : Exception("the service is shutting down and takes no new work");
