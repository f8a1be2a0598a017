using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PicSharp.Storage;
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
/// [1, context_length] (int32) keeps the context's token ids, which appending to the memory needs. The same bytes are
/// what a memory store keeps per row.
/// </summary>
/// <remarks>
/// Integrity: the metadata field `sha256` is the SHA-256 of every other metadata field and every tensor (name, dtype,
/// shape, bytes), so one flipped bit or an edited field is refused when the memory is read, naming it, instead of
/// silently changing answers. A read also refuses NaN or infinite values and, given the vocabulary size, context ids
/// outside it. Version 1 files (before the checksum) are refused with the advice to compress again: a memory that cannot
/// be verified is not trusted, and compressing again is cheap beside a wrong answer.
/// </remarks>
public static class MemoryFile
{
    const string Format = "picsharp-memory";
    const string Version = "2";
    const string ChecksumField = "sha256";
    const string ContextIdsName = "context_ids";

    /// <param name="contextIds">the context's token ids, kept so the memory can be extended later (optional).</param>
    public static void Save(string path, CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int>? contextIds = null) =>
        AtomicFile.Write(path, stream => Write(stream, memory, info, contextIds));

    /// <summary>The bytes <see cref="Save"/> writes.</summary>
    public static byte[] ToBytes(CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int>? contextIds = null)
    {
        using var bytes = new MemoryStream();
        Write(bytes, memory, info, contextIds);
        return bytes.ToArray();
    }

    static void Write(Stream stream, CompressedMemory memory, MemoryFileInfo info, IReadOnlyList<int>? contextIds)
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
        foreach (var name in tensors.Keys.ToList()) tensors[name] = tensors[name].detach().cpu().contiguous();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["version"] = Version,
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
        metadata[ChecksumField] = Checksum(metadata, tensors);
        SafeTensorsFile.Write(stream, tensors, metadata);
    }

    static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    // SHA-256 over the metadata (but the checksum itself) and the tensors, each in ordinal name order, fields separated
    // by NUL so no two different contents hash the same bytes.
    static string Checksum(IReadOnlyDictionary<string, string> metadata, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Append(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\0"));
        foreach (var (key, value) in metadata.Where(p => p.Key != ChecksumField).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Append(key);
            Append(value);
        }
        foreach (var (name, tensor) in tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Append(name);
            Append(SafeTensorsDtypes.Name(tensor.dtype));
            Append(string.Join(",", tensor.shape));
            TensorBytes.ForEachBlock(tensor, block => hash.AppendData(block));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads the file's provenance without loading tensors (nor checking them).</summary>
    public static MemoryFileInfo ReadInfo(string path)
    {
        using var reader = Open(path);
        return ReadHeader(reader).Info;
    }

    /// <summary>
    /// Loads and checks a memory (checksum, finite values, and with <paramref name="vocabularySize"/> its context ids),
    /// refusing one made by a compressor other than <paramref name="expectedCompressorId"/> (null: any compressor).
    /// </summary>
    public static LoadedMemory Load(string path, string? expectedCompressorId, int? vocabularySize = null)
    {
        using var reader = Open(path);
        return Read(reader, expectedCompressorId, vocabularySize);
    }

    /// <summary><see cref="Load(string, string?, int?)"/> for a memory file's bytes (a store row); messages call it <paramref name="name"/>.</summary>
    public static LoadedMemory Load(byte[] file, string name, string? expectedCompressorId, int? vocabularySize = null)
    {
        using var reader = Open(new MemoryStream(file, writable: false), name);
        return Read(reader, expectedCompressorId, vocabularySize);
    }

    /// <summary>The context's token ids, or null when the file was saved without them (the whole file is checked).</summary>
    public static int[]? ReadContextIds(string path)
    {
        using var loaded = Load(path, expectedCompressorId: null);
        return loaded.ContextIds;
    }

    static SafeTensorsReader Open(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path} is a folder, not a memory file");
        if (!File.Exists(path)) throw new FileNotFoundException($"memory file {path} does not exist", path);
        return Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0), path);
    }

    // Anything that is not even a safetensors file (a text file given as the memory, say) gets one plain sentence.
    static SafeTensorsReader Open(Stream stream, string name)
    {
        try { return new SafeTensorsReader(stream, name); }
        catch (SafeTensorsException e)
        {
            string detail = e.Message.StartsWith(name + ": ", StringComparison.Ordinal) ? e.Message[(name.Length + 2)..] : e.Message;
            throw new InvalidDataException($"{name} is not a memory file (not in the safetensors format: {detail})");
        }
    }

    static LoadedMemory Read(SafeTensorsReader reader, string? expectedCompressorId, int? vocabularySize)
    {
        string name = reader.Path;
        InvalidDataException Error(string message) => new($"{name}: {message}");
        var (info, counts) = ReadHeader(reader);
        if (expectedCompressorId is not null && info.CompressorId != expectedCompressorId)
            throw new ForeignMemoryException($"{name}: this memory was made by compressor {info.CompressorId}, " +
                $"not by the loaded compressor {expectedCompressorId}; compress the context again with this compressor");

        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in reader.Header.Tensors) tensors[entry.Name] = reader.Read(entry.Name);
            if (Checksum(reader.Header.Metadata, tensors) != reader.Header.Metadata[ChecksumField])
                throw Error("checksum mismatch: the memory's tensors or metadata changed after it was written (a damaged or edited file); compress the text again");
            foreach (var (tensorName, values) in tensors)
                if (values.is_floating_point() && !isfinite(values).all().item<bool>())
                    throw Error($"the memory holds NaN or infinite values in '{tensorName}' (it was written that way, so the compressor that made it was broken); compress the text again with a sound compressor");
            int[]? ids = null;
            if (tensors.Remove(ContextIdsName, out var idTensor))
            {
                ids = idTensor.data<int>().ToArray();
                idTensor.Dispose();
                if (vocabularySize is int vocabulary && Array.FindIndex(ids, id => id < 0 || id >= vocabulary) is int at and >= 0)
                    throw Error($"context token id {ids[at]} at position {at} is outside the vocabulary of {vocabulary} tokens; the memory belongs to another model or is damaged");
            }
            var memory = info.Kind == MemoryKind.Embeddings
                ? new CompressedMemory(info.Kind, tensors["embeddings"], null, [counts.Memory], [counts.NextPosition], [counts.Context])
                : new CompressedMemory(info.Kind, null,
                    Enumerable.Range(0, counts.Layers).Select(l => (tensors[$"layers.{l}.keys"], tensors[$"layers.{l}.values"])).ToList(),
                    [counts.Memory], [counts.NextPosition], [counts.Context]);
            return new LoadedMemory(memory, info, ids);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    sealed record Counts(int Memory, int Context, long NextPosition, int Layers);

    // Metadata fields and tensor names/shapes are checked together so a damaged file fails before any tensor is read.
    static (MemoryFileInfo Info, Counts Counts) ReadHeader(SafeTensorsReader reader)
    {
        var metadata = reader.Header.Metadata;
        InvalidDataException Error(string message) => new($"{reader.Path}: {message}");
        string Field(string key) => metadata.TryGetValue(key, out string? value) ? value : throw Error($"metadata field '{key}' is missing");
        long Number(string key, long min) => long.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min
            ? v
            : throw Error($"metadata field '{key}' = '{Field(key)}' is not an integer ≥ {min}");

        if (!metadata.TryGetValue("format", out string? format) || format != Format)
            throw Error($"not a PicSharp memory file (metadata 'format' is '{format}', expected '{Format}')");
        if (Field("version") == "1")
            throw Error($"this memory file was made by an older version of PicSharp (version 1, without a checksum), so it cannot be verified; compress the text again with `pic compress`");
        if (Field("version") != Version) throw Error($"memory file version {Field("version")} is not supported (only {Version})");
        Field(ChecksumField);
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
