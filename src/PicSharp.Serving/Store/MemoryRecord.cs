using PicSharp.Compression;

namespace PicSharp.Serving.Store;

/// <summary>A stored memory's metadata: where it came from, how it was made, its sizes and when it was stored.</summary>
/// <param name="Bytes">size of the memory file the row keeps.</param>
public sealed record MemoryRecord(
    string Id, string CompressorId, string BaseModelId, MemoryKind Kind, MaskPolicy Policy, int Ratio, int ChunkLength,
    int ContextTokens, int MemoryTokens, long NextPosition, long Bytes, DateTimeOffset Created);
