using System.Text;
using PicSharp.Storage;
using static TorchSharp.torch;

namespace PicSharp.Tests.Storage;

public sealed class SafeTensorsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A file from explicit parts: 8-byte length (declared or actual), header text, data bytes.</summary>
    string Fixture(string header, byte[] data, ulong? declaredLength = null, string name = "fixture.safetensors")
    {
        string path = Path.Combine(dir, name);
        byte[] json = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(declaredLength ?? (ulong)json.Length), .. json, .. data]);
        return path;
    }

    [Fact]
    public void Reader_follows_the_spec_on_hand_built_bytes()
    {
        // Entries out of name order and data out of entry order; F16 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800;
        // BF16 1.0 = 0x3F80, -3.0 = 0xC040; I64 little-endian; BOOL one byte each.
        string header = """
            {"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]},"__metadata__":{"format":"pt"},
             "a":{"dtype":"F16","shape":[1,3],"data_offsets":[0,6]},"c":{"dtype":"I64","shape":[],"data_offsets":[10,18]},
             "d":{"dtype":"BOOL","shape":[2],"data_offsets":[18,20]}}
            """ + "  ";
        byte[] data = [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x80, 0x3F, 0x40, 0xC0, .. BitConverter.GetBytes(-5L), 1, 0];
        string path = Fixture(header, data);

        using var scope = NewDisposeScope();
        var tensors = SafeTensorsFile.Load(path);
        Assert.Equal(["a", "b", "c", "d"], tensors.Keys.Order());
        Assert.Equal(ScalarType.Float16, tensors["a"].dtype);
        Assert.Equal([1L, 3L], tensors["a"].shape);
        Assert.Equal([1f, -2f, 0.5f], tensors["a"].to(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, tensors["b"].dtype);
        Assert.Equal([1f, -3f], tensors["b"].to(ScalarType.Float32).data<float>().ToArray());
        Assert.Empty(tensors["c"].shape);
        Assert.Equal(-5L, tensors["c"].item<long>());
        Assert.Equal([true, false], tensors["d"].data<bool>().ToArray());
        Assert.Equal("pt", SafeTensorsFile.ReadMetadata(path)["format"]);
    }

    [Fact]
    public void Every_dtype_round_trips_exactly_with_an_aligned_header_in_name_order()
    {
        using var scope = NewDisposeScope();
        var source = randn(3, 5, generator: new Generator(1));
        var tensors = new Dictionary<string, Tensor>
        {
            ["z.f32"] = source, ["y.f16"] = source.to(ScalarType.Float16), ["x.bf16"] = source.to(ScalarType.BFloat16),
            ["w.f64"] = source.to(ScalarType.Float64), ["v.i64"] = arange(-6, 6).reshape(2, 6), ["u.i32"] = arange(7).to(ScalarType.Int32),
            ["t.i16"] = arange(-3, 3).to(ScalarType.Int16), ["s.i8"] = arange(-4, 4).to(ScalarType.Int8),
            ["r.u8"] = arange(250, 256).to(ScalarType.Byte), ["q.bool"] = source.gt(0), ["p.empty"] = zeros(0, 4),
            ["o.strided"] = source.t(), // non-contiguous input is written in row-major order
        };
        string path = Path.Combine(dir, "all.safetensors");
        SafeTensorsFile.Save(path, tensors, new Dictionary<string, string> { ["note"] = "hello" });

        var loaded = SafeTensorsFile.Load(path);
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(expected.dtype, loaded[name].dtype);
            Assert.Equal(expected.shape, loaded[name].shape);
            Assert.True(expected.to(ScalarType.Float64).eq(loaded[name].to(ScalarType.Float64)).all().item<bool>(), name);
        }
        Assert.Equal("hello", SafeTensorsFile.ReadMetadata(path)["note"]);

        using var reader = new SafeTensorsReader(path);
        Assert.Equal(0, reader.Header.DataStart % 8);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), reader.Header.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void ReadInto_fills_a_tensor_of_the_stored_dtype_and_shape_in_place_and_refuses_any_other()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "into.safetensors");
        var stored = randn(3, 5).to(ScalarType.BFloat16);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = stored });
        using var reader = new SafeTensorsReader(path);
        var target = zeros(3, 5, ScalarType.BFloat16);
        var sameMemory = target.view(15); // sees the data only if it is written where target's storage is
        reader.ReadInto("w", target);
        Assert.Equal(0, (stored.view(15).to(ScalarType.Float32) - sameMemory.to(ScalarType.Float32)).abs().max().item<float>());
        foreach (var wrong in new[] { zeros(3, 5), zeros(5, 3, ScalarType.BFloat16), zeros(5, 3, ScalarType.BFloat16).t() })
            Assert.Contains("tensor 'w' (BF16 [3, 5]) cannot be read into", Assert.Throws<ArgumentException>(() => reader.ReadInto("w", wrong)).Message);
    }

    [Fact]
    public void Large_tensors_move_through_span_sized_blocks()
    {
        using var scope = NewDisposeScope();
        var source = arange(1000, dtype: ScalarType.Float32).reshape(10, 100);
        var bytes = new List<byte>();
        TensorBytes.ForEachBlock(source, block => bytes.AddRange(block.ToArray()), blockBytes: 48);
        Assert.Equal(source.bytes.ToArray(), bytes.ToArray());

        var target = zeros(10, 100);
        int offset = 0;
        TensorBytes.ForEachBlock(target, block => { bytes.ToArray().AsSpan(offset, block.Length).CopyTo(block); offset += block.Length; }, blockBytes: 48);
        Assert.True(target.eq(source).all().item<bool>());
    }

    const string OneFloat = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
    static readonly byte[] EightBytes = new byte[8];

    public static TheoryData<string, string[]> CorruptFiles => new()
    {
        { "too-short", ["4 bytes, too short"] },
        { "header-past-end", ["header length 4096 runs past the end of the file"] },
        { "truncated-data", ["tensor 'w'", "out of range", "truncated file"] },
        { "offset-out-of-range", ["tensor 'w'", "data_offsets [8, 16] are out of range"] },
        { "overlap", ["tensors 'a' [0, 8] and 'b' [4, 12] overlap"] },
        { "byte-count", ["tensor 'w'", "span 8 bytes but dtype F32 with shape [3] needs 12"] },
        { "bad-json", ["header is not valid JSON"] },
        { "unknown-dtype", ["tensor 'w'", "unknown dtype 'Q4'"] },
        { "missing-offsets", ["tensor 'w'", "missing or non-array 'data_offsets'"] },
        { "negative-shape", ["tensor 'w'", "'shape' must hold non-negative integers"] },
        { "metadata-not-string", ["__metadata__ value of 'step' must be a string"] },
        { "not-an-object", ["header must be a JSON object"] },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_files_give_their_specific_error_naming_the_file(string kind, string[] expected)
    {
        string path = kind switch
        {
            "too-short" => WriteRaw([1, 2, 3, 4]),
            "header-past-end" => Fixture(OneFloat, EightBytes, declaredLength: 4096),
            "truncated-data" => Fixture(OneFloat, new byte[5]),
            "offset-out-of-range" => Fixture("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", EightBytes),
            "overlap" => Fixture("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]),
            "byte-count" => Fixture("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", EightBytes),
            "bad-json" => Fixture("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", EightBytes),
            "unknown-dtype" => Fixture("""{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", EightBytes),
            "missing-offsets" => Fixture("""{"w":{"dtype":"F32","shape":[2]}}""", EightBytes),
            "negative-shape" => Fixture("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", EightBytes),
            "metadata-not-string" => Fixture("""{"__metadata__":{"step":3}}""", []),
            "not-an-object" => Fixture("[1, 2]", []),
            _ => throw new ArgumentException(kind),
        };
        var error = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Load(path));
        Assert.Contains(path, error.Message);
        foreach (string part in expected) Assert.Contains(part, error.Message);
    }

    string WriteRaw(byte[] bytes)
    {
        string path = Path.Combine(dir, "raw.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary()
    {
        string path = Path.Combine(dir, "kept.txt");
        AtomicFile.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("partial"u8);
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["kept.txt"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }
}
