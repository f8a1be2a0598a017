using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Storage;

/// <summary>
/// An open safetensors file. Tensors are read one at a time from the file straight into tensor memory, so a
/// checkpoint larger than any array .NET allows still loads.
/// </summary>
public sealed class SafeTensorsReader : IDisposable
{
    readonly Stream stream;
    readonly Dictionary<string, SafeTensorEntry> byName;

    public SafeTensorsHeader Header { get; }
    public string Path => Header.Path;
    public IReadOnlyCollection<string> Names => byName.Keys;

    // No managed buffering: reads go straight from the file into each tensor's storage.
    public SafeTensorsReader(string path) : this(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0), path) { }

    /// <summary>Reads safetensors bytes from a seekable stream, which the reader then owns; <paramref name="name"/> is
    /// what messages call it (a path, or "memory ID" for a store row).</summary>
    public SafeTensorsReader(Stream stream, string name)
    {
        this.stream = stream;
        try { Header = SafeTensorsHeader.Read(name, stream); }
        catch { stream.Dispose(); throw; }
        byName = Header.Tensors.ToDictionary(t => t.Name);
    }

    public SafeTensorEntry Entry(string name) => byName.TryGetValue(name, out var entry)
        ? entry
        : throw new SafeTensorsException($"{Path}: no tensor named '{name}'");

    /// <summary>A new CPU tensor holding the named tensor's data, in its stored dtype.</summary>
    public Tensor Read(string name)
    {
        var entry = Entry(name);
        var result = empty(entry.Shape, entry.Dtype);
        try { ReadInto(name, result); }
        catch { result.Dispose(); throw; }
        return result;
    }

    /// <summary>
    /// Reads the named tensor's data straight into <paramref name="target"/>, a contiguous CPU tensor of the stored dtype
    /// and shape (a model parameter, say), so loading needs no second copy of the weights.
    /// </summary>
    public void ReadInto(string name, Tensor target)
    {
        var entry = Entry(name);
        if (target.dtype != entry.Dtype || !target.shape.SequenceEqual(entry.Shape) || !target.is_contiguous() || target.device_type != DeviceType.CPU)
            throw new ArgumentException($"{Path}: tensor '{name}' ({entry.DtypeName} [{string.Join(", ", entry.Shape)}]) cannot be read into a " +
                $"{target.dtype} [{string.Join(", ", target.shape)}] tensor");
        try
        {
            stream.Position = Header.DataStart + entry.Begin;
            TensorBytes.ForEachBlock(target, block => stream.ReadExactly(block));
        }
        catch (EndOfStreamException)
        {
            throw new SafeTensorsException($"{Path}: tensor '{name}': file ended while reading its data (truncated file?)");
        }
    }

    public void Dispose() => stream.Dispose();
}

/// <summary>Reads and writes whole safetensors files (the Hugging Face format; little-endian, row-major).</summary>
public static class SafeTensorsFile
{
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var reader = new SafeTensorsReader(path);
        return reader.Header.Tensors.ToDictionary(t => t.Name, t => reader.Read(t.Name));
    }

    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var reader = new SafeTensorsReader(path);
        return reader.Header.Metadata;
    }

    /// <summary>Writes the tensors in name order, atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    /// <summary>Writes a whole safetensors file to <paramref name="stream"/>, tensors in name order.</summary>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors stores little-endian data");
        var ordered = tensors.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        long offset = 0;
        var entries = ordered.Select(p =>
        {
            long bytes = p.Value.numel() * p.Value.ElementSize;
            var entry = (p.Key, SafeTensorsDtypes.Name(p.Value.dtype), p.Value.shape, offset, offset + bytes);
            offset += bytes;
            return entry;
        }).ToList();
        byte[] header = SafeTensorsHeader.Encode(entries, metadata);

        stream.Write(BitConverter.GetBytes((ulong)header.Length));
        stream.Write(header);
        foreach (var (_, tensor) in ordered)
        {
            using var scope = NewDisposeScope();
            TensorBytes.ForEachBlock(tensor.detach().cpu().contiguous(), block => stream.Write(block));
        }
    }
}

/// <summary>Access to a contiguous CPU tensor's bytes, in blocks that fit a Span.</summary>
static class TensorBytes
{
    const long DefaultBlockBytes = 1L << 30;

    public delegate void BlockAction(Span<byte> block);

    public static void ForEachBlock(Tensor contiguous, BlockAction action, long blockBytes = DefaultBlockBytes)
    {
        long count = contiguous.numel();
        if (count == 0) return;
        if (count * contiguous.ElementSize <= blockBytes) { action(contiguous.bytes); return; }
        using var flat = contiguous.view(-1);
        long perBlock = Math.Max(1, blockBytes / contiguous.ElementSize);
        for (long start = 0; start < count; start += perBlock)
        {
            using var block = flat.narrow(0, start, Math.Min(perBlock, count - start));
            action(block.bytes);
        }
    }
}
