using PicSharp.Storage;
using System.Globalization;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>Thrown when a memory file was made by another compressor than the one that would read it.</summary>
public sealed class ForeignMemoryException(string message) : Exception(message);

/// <summary>Where a memory came from and how it was made; stored as the memory file's metadata.</summary>
/// <param name="CompressorId">see <see cref="CompressorFolder.Fingerprint"/>.</param>
/// <param name="BaseModelId">see <see cref="ModelFolder.Fingerprint"/>, or any name the user chooses.</param>
public sealed record MemoryFileInfo(string CompressorId, string BaseModelId, MemoryKind Kind, MaskPolicy Policy, int Ratio, int ChunkLength)
{
    public static MemoryFileInfo Of(Compressor compressor, string baseModelId) => new(CompressorFolder.Fingerprint(compressor),
        baseModelId, compressor.Options.Kind, compressor.Options.Policy, compressor.Options.Ratio, compressor.Options.ChunkLength);
}

/// <summary>
/// One context's compressed memory as a safetensors file: `embeddings` [1, K, hidden], or `layers.N.keys` and
/// `layers.N.values` [1, kv_heads, K, head_dim] for the key-values kind; the metadata holds <see cref="MemoryFileInfo"/>
/// plus the memory's token count, context length and next decoder position. An optional `context_ids` tensor
/// [1, context_length] (int32) keeps the context's token ids, which appending to the memory needs.
/// </summary>
public static class MemoryFile
{
    const string Format = "picsharp-memory";
    const string ContextIdsName = "context_ids";

    /// <param name="contextIds">the context's token ids, kept so the memory can be extended later (optional).</param>
    public static void Save(string path, CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int>? contextIds = null)
    {
        if (memory.Batch != 1) throw new ArgumentException($"a memory file holds one context; take memory.Row(b) of the {memory.Batch} rows");
        if (memory.Kind != info.Kind) throw new ArgumentException($"the memory is of kind {memory.Kind} but the info says {info.Kind}");
        using var scope = NewDisposeScope();
        var row = memory.Row(0); // drops padding
        var tensors = new Dictionary<string, Tensor>();
        if (row.Embeddings is not null) tensors["embeddings"] = row.Embeddings;
        for (int layer = 0; layer < (row.KeyValues?.Count ?? 0); layer++)
        {
            tensors[$"layers.{layer}.keys"] = row.KeyValues![layer].Keys;
            tensors[$"layers.{layer}.values"] = row.KeyValues[layer].Values;
        }
        if (contextIds is not null)
        {
            if (contextIds.Count != memory.ContextLengths[0])
                throw new ArgumentException($"{contextIds.Count} context ids for a memory of a {memory.ContextLengths[0]}-token context");
            tensors[ContextIdsName] = tensor(contextIds.ToArray()).unsqueeze(0);
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["version"] = "1",
            ["compressor_id"] = info.CompressorId,
            ["base_model_id"] = info.BaseModelId,
            ["kind"] = KebabCase.Name(info.Kind),
            ["policy"] = info.Policy.Name(),
            ["ratio"] = Text(info.Ratio),
            ["chunk_length"] = Text(info.ChunkLength),
            ["memory_count"] = Text(memory.Counts[0]),
            ["context_length"] = Text(memory.ContextLengths[0]),
            ["next_position"] = Text(memory.NextPositions[0]),
            ["layers"] = Text(row.KeyValues?.Count ?? 0),
        };
        SafeTensorsFile.Save(path, tensors, metadata);
    }

    static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads the file's provenance without loading tensors.</summary>
    public static MemoryFileInfo ReadInfo(string path) => ReadHeader(path).Info;

    /// <summary>Loads a memory, refusing one made by a compressor other than <paramref name="expectedCompressorId"/>.</summary>
    public static (CompressedMemory Memory, MemoryFileInfo Info) Load(string path, string expectedCompressorId)
    {
        var (info, counts) = ReadHeader(path);
        if (info.CompressorId != expectedCompressorId)
            throw new ForeignMemoryException($"{path}: this memory was made by compressor {info.CompressorId}, " +
                $"not by the loaded compressor {expectedCompressorId}; compress the context again with this compressor");

        var tensors = SafeTensorsFile.Load(path);
        if (tensors.Remove(ContextIdsName, out var ids)) ids.Dispose();
        var memory = info.Kind == MemoryKind.Embeddings
            ? new CompressedMemory(info.Kind, tensors["embeddings"], null, [counts.Memory], [counts.NextPosition], [counts.Context])
            : new CompressedMemory(info.Kind, null,
                Enumerable.Range(0, counts.Layers).Select(l => (tensors[$"layers.{l}.keys"], tensors[$"layers.{l}.values"])).ToList(),
                [counts.Memory], [counts.NextPosition], [counts.Context]);
        return (memory, info);
    }

    /// <summary>The context's token ids, or null when the file was saved without them.</summary>
    public static int[]? ReadContextIds(string path)
    {
        ReadHeader(path);
        using var reader = new SafeTensorsReader(path);
        if (!reader.Names.Contains(ContextIdsName)) return null;
        using var ids = reader.Read(ContextIdsName);
        return ids.data<int>().ToArray();
    }

    sealed record Counts(int Memory, int Context, long NextPosition, int Layers);

    // Metadata fields and tensor names/shapes are checked together so a damaged file fails before any tensor is read.
    static (MemoryFileInfo Info, Counts Counts) ReadHeader(string path)
    {
        using var reader = new SafeTensorsReader(path);
        var metadata = reader.Header.Metadata;
        InvalidDataException Error(string message) => new($"{path}: {message}");
        string Field(string key) => metadata.TryGetValue(key, out string? value) ? value : throw Error($"metadata field '{key}' is missing");
        long Number(string key, long min) => long.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min
            ? v
            : throw Error($"metadata field '{key}' = '{Field(key)}' is not an integer ≥ {min}");

        if (!metadata.TryGetValue("format", out string? format) || format != Format)
            throw Error($"not a PicSharp memory file (metadata 'format' is '{format}', expected '{Format}')");
        if (Field("version") != "1") throw Error($"memory file version {Field("version")} is not supported (only 1)");
        if (!KebabCase.TryParse(Field("kind"), out MemoryKind kind))
            throw Error($"metadata field 'kind' = '{Field("kind")}' is not embeddings or key-values");
        MaskPolicy policy;
        try { policy = MaskPolicyNames.Parse(Field("policy")); }
        catch (ArgumentException e) { throw Error($"metadata field 'policy': {e.Message}"); }
        var info = new MemoryFileInfo(Field("compressor_id"), Field("base_model_id"), kind, policy, (int)Number("ratio", 1), (int)Number("chunk_length", 1));
        var counts = new Counts((int)Number("memory_count", 1), (int)Number("context_length", 1), Number("next_position", 0), (int)Number("layers", kind == MemoryKind.KeyValues ? 1 : 0));

        var stored = reader.Header.Tensors.Where(t => t.Name != ContextIdsName).ToDictionary(t => t.Name, t => t.Shape);
        if (reader.Header.Tensors.FirstOrDefault(t => t.Name == ContextIdsName) is { } ids &&
            (ids.Dtype != ScalarType.Int32 || ids.Shape.Length != 2 || ids.Shape[0] != 1 || ids.Shape[1] != counts.Context))
            throw Error($"tensor '{ContextIdsName}' is {ids.DtypeName} [{string.Join(", ", ids.Shape)}], expected I32 [1, {counts.Context}]");
        var expected = ExpectedNames(kind, counts.Layers).ToHashSet();
        if (!expected.SetEquals(stored.Keys))
            throw Error($"tensors [{string.Join(", ", stored.Keys.Order())}] do not match a {Field("kind")} memory with {counts.Layers} layers");
        foreach (var (name, shape) in stored)
        {
            int rank = kind == MemoryKind.Embeddings ? 3 : 4, countAxis = kind == MemoryKind.Embeddings ? 1 : 2;
            if (shape.Length != rank || shape[0] != 1 || shape[countAxis] != counts.Memory)
                throw Error($"tensor '{name}' has shape [{string.Join(", ", shape)}], expected {rank} dimensions with batch 1 and {counts.Memory} memory tokens");
        }
        return (info, counts);
    }

    static IEnumerable<string> ExpectedNames(MemoryKind kind, int layers) => kind == MemoryKind.Embeddings
        ? ["embeddings"]
        : Enumerable.Range(0, layers).SelectMany(l => new[] { $"layers.{l}.keys", $"layers.{l}.values" });
}
