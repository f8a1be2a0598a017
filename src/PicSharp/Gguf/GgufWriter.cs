using System.Text;
using PicSharp.Storage;

namespace PicSharp.Gguf;

/// <summary>
/// Builds a GGUF v3 file: metadata in the order added (general.alignment first), tensor infos, then each tensor's
/// data, written by its callback when the file is written (one tensor in memory at a time). The file appears whole
/// or not at all (temporary file, then rename).
/// </summary>
public sealed class GgufWriter
{
    readonly List<KeyValuePair<string, GgufValue>> metadata = [];
    readonly List<(GgufTensorInfo Info, Action<Stream> WriteData)> tensors = [];
    readonly int alignment;
    long nextOffset;

    public GgufWriter(int alignment = GgufFile.DefaultAlignment)
    {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentException($"alignment {alignment} must be a power of two");
        this.alignment = alignment;
        Add(GgufFile.AlignmentKey, GgufValue.Of((uint)alignment));
    }

    public void Add(string key, GgufValue value)
    {
        if (metadata.Any(p => p.Key == key)) throw new ArgumentException($"metadata key '{key}' is already set");
        metadata.Add(new(key, value));
    }

    /// <summary>Adds a tensor of <paramref name="dims"/> (ggml order); <paramref name="writeData"/> must write exactly its bytes.</summary>
    public GgufTensorInfo AddTensor(string name, IReadOnlyList<long> dims, GgmlType type, Action<Stream> writeData)
    {
        if (Encoding.UTF8.GetByteCount(name) > GgufFile.MaxNameBytes) throw new ArgumentException($"tensor name '{name}' is longer than {GgufFile.MaxNameBytes} bytes");
        if (tensors.Any(t => t.Info.Name == name)) throw new ArgumentException($"tensor '{name}' is already added");
        if (dims.Count is 0 or > GgufFile.MaxDims || dims.Any(d => d <= 0))
            throw new ArgumentException($"tensor '{name}' dims [{string.Join(", ", dims)}]: 1 to {GgufFile.MaxDims} positive dimensions");
        var info = new GgufTensorInfo(name, [.. dims], type, nextOffset);
        nextOffset = GgufFile.Align(nextOffset + info.ByteCount, alignment);
        tensors.Add((info, writeData));
        return info;
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(GgufFile.Magic);
        writer.Write(GgufFile.Version);
        writer.Write((ulong)tensors.Count);
        writer.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(writer, key);
            WriteValue(writer, value);
        }
        foreach (var (info, _) in tensors)
        {
            WriteString(writer, info.Name);
            writer.Write((uint)info.Dims.Length);
            foreach (long d in info.Dims) writer.Write((ulong)d);
            writer.Write((uint)info.Type);
            writer.Write((ulong)info.Offset);
        }
        writer.Flush();
        Pad(stream);
        long dataStart = stream.Position;
        foreach (var (info, writeData) in tensors)
        {
            writeData(stream);
            long written = stream.Position - dataStart - info.Offset;
            if (written != info.ByteCount)
                throw new InvalidOperationException($"tensor '{info.Name}' wrote {written} bytes, its header says {info.ByteCount}");
            Pad(stream);
        }
    });

    void Pad(Stream stream)
    {
        long padding = GgufFile.Align(stream.Position, alignment) - stream.Position;
        for (long i = 0; i < padding; i++) stream.WriteByte(0);
    }

    static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    static void WriteValue(BinaryWriter writer, GgufValue value)
    {
        writer.Write((uint)value.Type);
        if (value.Value is Array values)
        {
            writer.Write((uint)value.ElementType!.Value);
            writer.Write((ulong)values.Length);
            foreach (object item in values) WriteScalar(writer, item);
        }
        else WriteScalar(writer, value.Value);
    }

    static void WriteScalar(BinaryWriter writer, object value)
    {
        switch (value)
        {
            case byte v: writer.Write(v); break;
            case sbyte v: writer.Write(v); break;
            case ushort v: writer.Write(v); break;
            case short v: writer.Write(v); break;
            case uint v: writer.Write(v); break;
            case int v: writer.Write(v); break;
            case float v: writer.Write(v); break;
            case bool v: writer.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(writer, v); break;
            case ulong v: writer.Write(v); break;
            case long v: writer.Write(v); break;
            case double v: writer.Write(v); break;
            default: throw new ArgumentException($"{value.GetType().Name} is not a GGUF scalar");
        }
    }
}
