namespace PicSharp.Serving.Store;

/// <summary>A stored memory's metadata: where it came from, how it was made, its sizes and when it was stored.</summary>
public sealed record MemoryRecord(
    string Id, string CompressorId, string BaseModelId, string Kind, string Policy, int Ratio, int ChunkLength,
    int ContextTokens, int MemoryTokens, long NextPosition, long Bytes, DateTimeOffset Created);
