using System.Text;

namespace PicSharp.Gguf;

/// <summary>
/// The header of a GGUF v3 file (metadata and tensor infos), read and checked the way llama.cpp's gguf.cpp checks
/// it, so a file this reader accepts is not one llama.cpp refuses for its structure (and one it refuses gets a
/// message here rather than inside native code): every length fits in the file, names are unique and at most 63 bytes,
/// at most 4 dimensions, rows of whole blocks, tensors stored in order at aligned offsets, all data inside the file.
/// </summary>
public sealed class GgufFile
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    public const uint Version = 3;
    public const int DefaultAlignment = 32;
    public const string AlignmentKey = "general.alignment";
    /// <summary>ggml's GGML_MAX_NAME (64) less the terminating zero.</summary>
    public const int MaxNameBytes = 63;
    public const int MaxDims = 4;

    readonly Dictionary<string, GgufValue> byKey;
    readonly Dictionary<string, GgufTensorInfo> byName;

    public string Path { get; }
    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }
    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public int Alignment { get; }
    /// <summary>Absolute file offset of the data section (tensor offsets count from here).</summary>
    public long DataStart { get; }
    public long FileLength { get; }

    GgufFile(string path, List<KeyValuePair<string, GgufValue>> metadata, List<GgufTensorInfo> tensors, int alignment, long dataStart, long length)
    {
        (Path, Metadata, Tensors, Alignment, DataStart, FileLength) = (path, metadata, tensors, alignment, dataStart, length);
        byKey = metadata.ToDictionary(p => p.Key, p => p.Value);
        byName = tensors.ToDictionary(t => t.Name);
    }

    public GgufValue? Find(string key) => byKey.GetValueOrDefault(key);

    public GgufTensorInfo? FindTensor(string name) => byName.GetValueOrDefault(name);

    public GgufTensorInfo Tensor(string name) => byName.TryGetValue(name, out var info)
        ? info
        : throw new GgufFormatException($"{Path}: no tensor named '{name}'");

    /// <summary>The tensor's values as fp32 (F32, F16, BF16 or Q8_0 data), in ggml order (row after row of ne[0]).</summary>
    public float[] ReadFloats(string name)
    {
        var info = Tensor(name);
        long bytes = info.ByteCount;
        if (bytes > Array.MaxLength) throw new GgufFormatException($"{Path}: tensor '{name}' ({bytes} bytes) is too large to read into one array");
        var data = new byte[bytes];
        using var stream = File.OpenRead(Path);
        stream.Position = DataStart + info.Offset;
        stream.ReadExactly(data);
        return GgmlEncoding.Decode(info.Type, data);
    }

    public static GgufFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GGUF file {path} not found", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var reader = new HeaderReader(path, stream);
        try { return Parse(path, reader); }
        catch (EndOfStreamException) { throw new GgufFormatException($"{path}: the file ends inside its header (truncated file?)"); }
    }

    static GgufFile Parse(string path, HeaderReader reader)
    {
        if (reader.Length < 24) throw new GgufFormatException($"{path}: {reader.Length} bytes is too short for a GGUF file (not a GGUF file?)");
        uint magic = reader.UInt32();
        if (magic != Magic) throw new GgufFormatException($"{path}: not a GGUF file (it does not start with the bytes 'GGUF')");
        uint version = reader.UInt32();
        if (version != Version) throw new GgufFormatException($"{path}: GGUF version {version} is not supported; supported: {Version}");
        long tensorCount = reader.Count("tensor count", 8);
        long keyCount = reader.Count("metadata key count", 8 + 4);

        var metadata = new List<KeyValuePair<string, GgufValue>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < keyCount; i++)
        {
            string key = reader.String("metadata key");
            if (!keys.Add(key)) throw new GgufFormatException($"{path}: metadata key '{key}' appears twice");
            metadata.Add(new(key, reader.Value(key)));
        }
        int alignment = DefaultAlignment;
        if (metadata.FirstOrDefault(p => p.Key == AlignmentKey).Value is { } align)
        {
            if (align.Type != GgufValueType.UInt32 || (uint)align.Value == 0 || ((uint)align.Value & ((uint)align.Value - 1)) != 0 || (uint)align.Value > 1 << 20)
                throw new GgufFormatException($"{path}: {AlignmentKey} must be a uint32 power of two (found {align.Type} {align})");
            alignment = (int)(uint)align.Value;
        }

        var tensors = new List<GgufTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
            tensors.Add(ReadTensorInfo(path, reader, names, alignment));

        long dataStart = Align(reader.Position, alignment);
        long expected = 0;
        foreach (var tensor in tensors)
        {
            if (tensor.Offset != expected)
                throw new GgufFormatException($"{path}: tensor '{tensor.Name}' starts at data offset {tensor.Offset}, expected {expected} (tensors must follow each other in order, aligned to {alignment})");
            expected = Align(checked(expected + tensor.ByteCount), alignment);
        }
        long end = tensors.Count == 0 ? dataStart : dataStart + tensors[^1].Offset + tensors[^1].ByteCount;
        if (end > reader.Length)
            throw new GgufFormatException($"{path}: the tensors need {end} bytes but the file has {reader.Length} (truncated file?)");
        return new GgufFile(path, metadata, tensors, alignment, dataStart, reader.Length);
    }

    static GgufTensorInfo ReadTensorInfo(string path, HeaderReader reader, HashSet<string> names, int alignment)
    {
        string name = reader.String("tensor name");
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes) throw new GgufFormatException($"{path}: tensor name '{name}' is longer than {MaxNameBytes} bytes");
        if (!names.Add(name)) throw new GgufFormatException($"{path}: tensor '{name}' appears twice");
        uint rank = reader.UInt32();
        if (rank is 0 or > MaxDims) throw new GgufFormatException($"{path}: tensor '{name}' has {rank} dimensions; GGUF tensors have 1 to {MaxDims}");
        var dims = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            ulong n = reader.UInt64();
            if (n == 0 || n > long.MaxValue) throw new GgufFormatException($"{path}: tensor '{name}' dimension {d} is {n}");
            dims[d] = (long)n;
        }
        uint typeId = reader.UInt32();
        var type = (GgmlType)typeId;
        if (!GgmlTypes.IsKnown(type)) throw new GgufFormatException($"{path}: tensor '{name}' has ggml type {typeId}, which this reader does not know");
        long offset = (long)Math.Min(reader.UInt64(), long.MaxValue);
        var info = new GgufTensorInfo(name, dims, type, offset);
        try { _ = info.ByteCount; }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new GgufFormatException($"{path}: tensor '{name}' {type} [{string.Join(", ", dims)}]: {(e is OverflowException ? "its size overflows" : e.Message)}");
        }
        if (offset % alignment != 0) throw new GgufFormatException($"{path}: tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
        return info;
    }

    public static long Align(long offset, int alignment) => checked((offset + alignment - 1) / alignment * alignment);

    /// <summary>Little-endian reads that know how many bytes are left, so no length in the file can make it allocate
    /// more than the file holds.</summary>
    sealed class HeaderReader(string path, Stream stream)
    {
        static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        readonly BinaryReader reader = new(stream, Encoding.UTF8, leaveOpen: true);

        public long Length { get; } = stream.Length;
        public long Position => stream.Position;
        long Remaining => Length - stream.Position;

        public uint UInt32() => reader.ReadUInt32();
        public ulong UInt64() => reader.ReadUInt64();

        /// <summary>A count of items of at least <paramref name="minItemBytes"/> each, which must fit in the rest of the file.</summary>
        public long Count(string what, int minItemBytes)
        {
            ulong n = reader.ReadUInt64();
            if (n > (ulong)(Remaining / Math.Max(1, minItemBytes)))
                throw new GgufFormatException($"{path}: {what} {n} cannot fit in the {Remaining} bytes left (corrupt or truncated file?)");
            return (long)n;
        }

        public string String(string what)
        {
            long n = Count($"{what} length", 1);
            if (n > Array.MaxLength) throw new GgufFormatException($"{path}: {what} of {n} bytes is too long");
            var bytes = reader.ReadBytes((int)n);
            if (bytes.Length != n) throw new EndOfStreamException();
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException) { throw new GgufFormatException($"{path}: {what} at byte {Position - n} is not valid UTF-8"); }
        }

        public GgufValue Value(string key)
        {
            var type = (GgufValueType)reader.ReadUInt32();
            if (type == GgufValueType.Array)
            {
                var elementType = (GgufValueType)reader.ReadUInt32();
                if (elementType == GgufValueType.Array) throw new GgufFormatException($"{path}: metadata '{key}' is an array of arrays, which is not supported");
                RequireType(key, elementType);
                long count = Count($"metadata '{key}' array length", elementType == GgufValueType.String ? 8 : ElementBytes(elementType));
                var values = System.Array.CreateInstance(GgufValue.ClrType(elementType), count);
                for (long i = 0; i < count; i++) values.SetValue(Scalar(key, elementType), i);
                return GgufValue.Array(elementType, values);
            }
            RequireType(key, type);
            return GgufValue.Scalar(type, Scalar(key, type));
        }

        void RequireType(string key, GgufValueType type)
        {
            if (!Enum.IsDefined(type)) throw new GgufFormatException($"{path}: metadata '{key}' has value type {(uint)type}, which GGUF does not define");
        }

        static int ElementBytes(GgufValueType type) => type switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            _ => 8,
        };

        object Scalar(string key, GgufValueType type) => type switch
        {
            GgufValueType.UInt8 => reader.ReadByte(),
            GgufValueType.Int8 => reader.ReadSByte(),
            GgufValueType.UInt16 => reader.ReadUInt16(),
            GgufValueType.Int16 => reader.ReadInt16(),
            GgufValueType.UInt32 => reader.ReadUInt32(),
            GgufValueType.Int32 => reader.ReadInt32(),
            GgufValueType.Float32 => reader.ReadSingle(),
            GgufValueType.UInt64 => reader.ReadUInt64(),
            GgufValueType.Int64 => reader.ReadInt64(),
            GgufValueType.Float64 => reader.ReadDouble(),
            GgufValueType.String => String($"metadata '{key}' string"),
            GgufValueType.Bool => reader.ReadByte() switch
            {
                0 => false,
                1 => true,
                byte b => throw new GgufFormatException($"{path}: metadata '{key}' holds bool byte {b} (only 0 or 1)"),
            },
            _ => throw new GgufFormatException($"{path}: metadata '{key}' has value type {type}, which is not a scalar"),
        };
    }
}
