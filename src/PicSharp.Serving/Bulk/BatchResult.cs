namespace PicSharp.Serving.Bulk;

/// <summary>What a worker reports for one document of a batch, or (with <see cref="Total"/>) what the publisher reports
/// once every document is published: the batch's size.</summary>
/// <param name="Index">the document's place in its batch (0-based); results are counted once per index, so a
/// document compressed again after a redelivery counts once.</param>
/// <param name="Status">done or failed.</param>
/// <param name="Reason">why a failed document failed.</param>
public sealed record BatchResult(int Index, string? Source = null, string? Status = null, string? MemoryId = null, string? Reason = null, int? Total = null)
{
    public const string Done = "done";
    public const string Failed = "failed";
}
