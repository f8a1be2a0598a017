using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace PicSharp.Storage;

/// <summary>Thrown for a safetensors file that breaks the format; the message names the file and, where known, the tensor.</summary>
public sealed class SafeTensorsException(string message) : Exception(message);

/// <summary>One tensor's header entry. Begin/End are byte offsets into the data region that follows the header.</summary>
public sealed record SafeTensorEntry(string Name, string DtypeName, ScalarType Dtype, long[] Shape, long Begin, long End)
{
    public long ByteCount => End - Begin;
}

/// <summary>
/// The validated header of a safetensors file: an 8-byte little-endian length N, then N bytes of JSON mapping each
/// tensor name to {dtype, shape, data_offsets}, plus an optional `__metadata__` string map; tensor bytes follow.
/// </summary>
public sealed class SafeTensorsHeader
{
    // The reference implementation refuses headers above 100 MB; a larger length means a corrupt or foreign file.
    const long MaxHeaderBytes = 100_000_000;

    public required string Path { get; init; }
    /// <summary>Tensors in data order.</summary>
    public required IReadOnlyList<SafeTensorEntry> Tensors { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>Absolute file offset of the data region.</summary>
    public required long DataStart { get; init; }

    public static SafeTensorsHeader Read(string path, Stream stream)
    {
        SafeTensorsException Error(string message) => new($"{path}: {message}");
        long fileLength = stream.Length;
        if (fileLength < 8) throw Error($"file is {fileLength} bytes, too short to hold the 8-byte header length (truncated file?)");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw Error($"header length {headerLength} runs past the end of the file ({fileLength} bytes; truncated file?)");
        if (headerLength > MaxHeaderBytes) throw Error($"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");

        var json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException e) { throw Error($"header is not valid JSON: {e.Message}"); }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Error("header must be a JSON object");
            var metadata = new Dictionary<string, string>();
            var tensors = new List<SafeTensorEntry>();
            var names = new HashSet<string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name)) throw Error($"name '{property.Name}' appears twice in the header");
                if (property.Name == "__metadata__") ReadMetadata(property.Value, metadata, Error);
                else tensors.Add(ReadEntry(property.Name, property.Value, Error));
            }
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            CheckLayout(tensors, fileLength - dataStart, Error);
            return new SafeTensorsHeader { Path = path, Tensors = tensors, Metadata = metadata, DataStart = dataStart };
        }
    }

    static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, Func<string, SafeTensorsException> error)
    {
        if (element.ValueKind != JsonValueKind.Object) throw error("__metadata__ must be an object of strings");
        foreach (var item in element.EnumerateObject())
            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                ? item.Value.GetString()!
                : throw error($"__metadata__ value of '{item.Name}' must be a string, found {item.Value.GetRawText()}");
    }

    static SafeTensorEntry ReadEntry(string name, JsonElement element, Func<string, SafeTensorsException> fileError)
    {
        SafeTensorsException Error(string message) => fileError($"tensor '{name}': {message}");
        if (element.ValueKind != JsonValueKind.Object) throw Error("entry must be an object with dtype, shape and data_offsets");
        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Error("missing or non-string 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDtypes.TryParse(dtypeName, out var dtype, out int elementSize))
            throw Error($"unknown dtype '{dtypeName}'; supported: {string.Join(", ", SafeTensorsDtypes.Names)}");
        long[] shape = ReadNonNegativeInts(element, "shape", Error);
        long[] offsets = ReadNonNegativeInts(element, "data_offsets", Error);
        if (offsets.Length != 2) throw Error($"data_offsets must hold two numbers, found {offsets.Length}");
        if (offsets[1] < offsets[0]) throw Error($"data_offsets [{offsets[0]}, {offsets[1]}] end before they begin");

        long expected;
        try { expected = checked(shape.Aggregate(1L, (n, d) => n * d) * elementSize); }
        catch (OverflowException) { throw Error($"shape [{string.Join(", ", shape)}] is too large"); }
        if (offsets[1] - offsets[0] != expected)
            throw Error($"data_offsets span {offsets[1] - offsets[0]} bytes but dtype {dtypeName} with shape [{string.Join(", ", shape)}] needs {expected}");
        return new SafeTensorEntry(name, dtypeName, dtype, shape, offsets[0], offsets[1]);
    }

    static long[] ReadNonNegativeInts(JsonElement entry, string field, Func<string, SafeTensorsException> error)
    {
        if (!entry.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
            throw error($"missing or non-array '{field}'");
        return list.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out long v) && v >= 0
            ? v
            : throw error($"'{field}' must hold non-negative integers, found {item.GetRawText()}")).ToArray();
    }

    // Tensors (sorted by offset) must lie inside the data region and must not share bytes.
    static void CheckLayout(List<SafeTensorEntry> tensors, long dataLength, Func<string, SafeTensorsException> error)
    {
        SafeTensorEntry? previous = null;
        foreach (var t in tensors)
        {
            if (t.End > dataLength)
                throw error($"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] are out of range: the data region has {dataLength} bytes (truncated file?)");
            if (previous is not null && t.Begin < previous.End && t.ByteCount > 0)
                throw error($"tensors '{previous.Name}' [{previous.Begin}, {previous.End}] and '{t.Name}' [{t.Begin}, {t.End}] overlap");
            if (t.ByteCount > 0) previous = t;
        }
    }

    /// <summary>Header bytes for tensors laid out one after another, padded with spaces to a multiple of 8 bytes.</summary>
    public static byte[] Encode(IEnumerable<(string Name, string DtypeName, long[] Shape, long Begin, long End)> tensors,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DtypeName);
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(t.Begin);
                json.WriteNumberValue(t.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return buffer.ToArray();
    }
}
