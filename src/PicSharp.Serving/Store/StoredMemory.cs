using PicSharp.Compression;

namespace PicSharp.Serving.Store;

/// <summary>
/// A whole stored memory: its metadata columns and the memory file's bytes (<see cref="MemoryFile"/>, with the context's
/// token ids), so a row is exactly a memory file and carries the file's checksum.
/// </summary>
public sealed record StoredMemory(MemoryRecord Record, byte[] File)
{
    public static StoredMemory Of(CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int> contextIds, DateTimeOffset created)
    {
        byte[] file = MemoryFile.ToBytes(memory, info, contextIds);
        return new StoredMemory(RecordOf(memory, info, contextIds, file.Length, created), file);
    }

    static MemoryRecord RecordOf(CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int> contextIds, long bytes, DateTimeOffset created) =>
        new(MemoryKey.Of(info.CompressorId, contextIds), info.CompressorId, info.BaseModelId, info.Kind, info.Policy, info.Ratio,
            info.ChunkLength, contextIds.Count, memory.Counts[0], memory.NextPositions[0], bytes, created);

    /// <summary>
    /// The memory, checked whole: the file's checksum, finite values and context ids (<see cref="MemoryFile.Load(byte[], string, string?, int?)"/>),
    /// and the row's columns and id against the file, so a row changed after it was written is refused naming the memory.
    /// </summary>
    /// <param name="expectedCompressorId">refuse a memory of another compressor; null accepts any.</param>
    public LoadedMemory Decode(string? expectedCompressorId, int? vocabularySize)
    {
        string name = $"memory {Record.Id}";
        var loaded = MemoryFile.Load(File, name, expectedCompressorId, vocabularySize);
        try
        {
            if (loaded.ContextIds is null) throw new InvalidDataException($"{name}: the stored memory file keeps no context token ids");
            var fromFile = RecordOf(loaded.Memory, loaded.Info, loaded.ContextIds, File.Length, Record.Created);
            (string Column, object Row, object File)[] columns =
            [
                ("id", Record.Id, fromFile.Id), ("compressor_id", Record.CompressorId, fromFile.CompressorId),
                ("base_model_id", Record.BaseModelId, fromFile.BaseModelId), ("kind", Record.Kind, fromFile.Kind),
                ("policy", Record.Policy, fromFile.Policy), ("ratio", Record.Ratio, fromFile.Ratio),
                ("chunk_length", Record.ChunkLength, fromFile.ChunkLength), ("context_tokens", Record.ContextTokens, fromFile.ContextTokens),
                ("memory_tokens", Record.MemoryTokens, fromFile.MemoryTokens), ("next_position", Record.NextPosition, fromFile.NextPosition),
                ("bytes", Record.Bytes, fromFile.Bytes),
            ];
            foreach (var (column, row, file) in columns)
                if (!row.Equals(file))
                    throw new InvalidDataException($"{name}: the row's {column} is {row} but its memory file says {file} (the row was changed after it was written)");
            return loaded;
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }
}
