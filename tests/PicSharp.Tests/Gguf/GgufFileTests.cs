using PicSharp.Gguf;
using PicSharp.Tests.Data;

namespace PicSharp.Tests.Gguf;

public sealed class GgufFileTests : IDisposable
{
    readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    // One value of every scalar type at its extremes, and an array of every element type (empty arrays too).
    static readonly (string Key, GgufValue Value)[] EveryValue =
    [
        ("u8", GgufValue.Scalar(GgufValueType.UInt8, byte.MaxValue)),
        ("i8", GgufValue.Scalar(GgufValueType.Int8, sbyte.MinValue)),
        ("u16", GgufValue.Scalar(GgufValueType.UInt16, ushort.MaxValue)),
        ("i16", GgufValue.Scalar(GgufValueType.Int16, short.MinValue)),
        ("u32", GgufValue.Of(uint.MaxValue)),
        ("i32", GgufValue.Of(int.MinValue)),
        ("f32", GgufValue.Of(-1.5e-38f)),
        ("f32.nan", GgufValue.Of(float.NaN)),
        ("bool.true", GgufValue.Of(true)),
        ("bool.false", GgufValue.Of(false)),
        ("string", GgufValue.Of("naïve 東京 🦙 \n\0 end")),
        ("string.empty", GgufValue.Of("")),
        ("u64", GgufValue.Scalar(GgufValueType.UInt64, ulong.MaxValue)),
        ("i64", GgufValue.Scalar(GgufValueType.Int64, long.MinValue)),
        ("f64", GgufValue.Scalar(GgufValueType.Float64, Math.PI)),
        ("array.u8", GgufValue.Array(GgufValueType.UInt8, new byte[] { 0, 1, 255 })),
        ("array.i8", GgufValue.Array(GgufValueType.Int8, new sbyte[] { -128, 127 })),
        ("array.u16", GgufValue.Array(GgufValueType.UInt16, new ushort[] { 1, 65535 })),
        ("array.i16", GgufValue.Array(GgufValueType.Int16, new short[] { -32768, 5 })),
        ("array.u32", GgufValue.Array(GgufValueType.UInt32, new uint[] { 7, uint.MaxValue })),
        ("array.i32", GgufValue.Of(new[] { -1, 0, int.MaxValue })),
        ("array.f32", GgufValue.Of(new[] { 0.25f, float.NegativeInfinity })),
        ("array.bool", GgufValue.Array(GgufValueType.Bool, new[] { true, false, true })),
        ("array.string", GgufValue.Of(new[] { "Ġthe", "", "é", "<|eos|>" })),
        ("array.u64", GgufValue.Array(GgufValueType.UInt64, new ulong[] { ulong.MaxValue })),
        ("array.i64", GgufValue.Array(GgufValueType.Int64, new long[] { long.MinValue, 3 })),
        ("array.f64", GgufValue.Array(GgufValueType.Float64, new[] { 1e300, -0.0 })),
        ("array.empty", GgufValue.Of(Array.Empty<string>())),
    ];

    static float[] RandomValues(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    // Tensors of every type the writer encodes, with odd sizes so padding between them is exercised.
    static readonly (string Name, long[] Dims, GgmlType Type, float[] Values)[] EveryTensor =
    [
        ("f32", [3, 5], GgmlType.F32, RandomValues(15, 1)),
        ("f16", [7], GgmlType.F16, RandomValues(7, 2)),
        ("bf16", [5, 3], GgmlType.BF16, RandomValues(15, 3)),
        ("q8_0", [64, 3], GgmlType.Q8_0, RandomValues(192, 4)),
        ("q8_0.zeros", [32], GgmlType.Q8_0, new float[32]),
    ];

    string WriteSample(string name = "sample.gguf")
    {
        var writer = new GgufWriter();
        foreach (var (key, value) in EveryValue) writer.Add(key, value);
        foreach (var (tensor, dims, type, values) in EveryTensor)
            writer.AddTensor(tensor, dims, type, stream => stream.Write(GgmlEncoding.Encode(type, values)));
        string path = temp.File(name);
        writer.Write(path);
        return path;
    }

    [Fact]
    public void Every_value_type_reads_back_equal_and_in_order()
    {
        var file = GgufFile.Read(WriteSample());
        Assert.Equal([GgufFile.AlignmentKey, .. EveryValue.Select(v => v.Key)], file.Metadata.Select(p => p.Key));
        foreach (var (key, value) in EveryValue)
            Assert.True(value.SameAs(file.Find(key)!), $"{key}: wrote {value}, read {file.Find(key)}");
        Assert.Equal(32, file.Alignment);
        Assert.Equal(0, file.DataStart % 32);
    }

    [Fact]
    public void Tensor_infos_read_back_equal_at_aligned_offsets()
    {
        var file = GgufFile.Read(WriteSample());
        Assert.Equal(EveryTensor.Select(t => (t.Name, t.Type)), file.Tensors.Select(t => (t.Name, t.Type)));
        foreach (var (name, dims, _, _) in EveryTensor) Assert.Equal(dims, file.Tensor(name).Dims);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Offset % 32));
        Assert.Equal(34 * 6, file.Tensor("q8_0").ByteCount); // 6 blocks of fp16 scale + 32 int8
    }

    [Fact]
    public void Tensor_values_read_back_exact_or_within_their_rounding()
    {
        var file = GgufFile.Read(WriteSample());
        Assert.Equal(EveryTensor[0].Values, file.ReadFloats("f32"));
        Assert.Equal(EveryTensor[1].Values.Select(v => (float)(Half)v), file.ReadFloats("f16"));
        // bf16: the values torch's own conversion (round to nearest even) gives.
        using (var bf16 = TorchSharp.torch.tensor(EveryTensor[2].Values).to(TorchSharp.torch.ScalarType.BFloat16).to(TorchSharp.torch.ScalarType.Float32))
            Assert.Equal(bf16.data<float>().ToArray(), file.ReadFloats("bf16"));
        // q8_0: each value within half a step (d / 2) of the block's scale d = max|x| / 127, plus d's own fp16 rounding.
        var q8 = file.ReadFloats("q8_0");
        var original = EveryTensor[3].Values;
        for (int block = 0; block < original.Length / 32; block++)
        {
            var x = original.AsSpan(block * 32, 32).ToArray();
            float d = x.Max(Math.Abs) / 127;
            for (int j = 0; j < 32; j++)
                Assert.True(Math.Abs(x[j] - q8[block * 32 + j]) <= d / 2 + 127 * d * Math.Pow(2, -11), $"block {block} value {j}: {x[j]} -> {q8[block * 32 + j]}");
        }
        Assert.Equal(new float[32], file.ReadFloats("q8_0.zeros"));
    }

    [Fact]
    public void Q8_0_blocks_are_ggml_bytes()
    {
        // max |x| = 2.54: d = 0.02, x / d = 127, -63.5 (half: away from zero -> -64), 0.5 -> 1, 0.49 -> 0.
        var x = new float[32];
        (x[0], x[1], x[2], x[3]) = (2.54f, -1.27f, 0.01f, 0.0098f);
        var bytes = GgmlEncoding.Encode(GgmlType.Q8_0, x);
        Assert.Equal(34, bytes.Length);
        Assert.Equal((Half)(2.54f / 127), BitConverter.ToHalf(bytes));
        Assert.Equal(new sbyte[] { 127, -64, 1, 0 }, bytes[2..6].Select(b => (sbyte)b));
    }

    [Fact]
    public void Bf16_rounds_to_nearest_even()
    {
        float halfway = 1 + MathF.Pow(2, -8);         // between bf16 1 and 1 + 2^-7: ties to the even 1
        float halfwayUp = 1 + 3 * MathF.Pow(2, -8);   // between 1 + 2^-7 and 1 + 2^-6: ties to the even 1 + 2^-6
        Assert.Equal(BitConverter.SingleToUInt32Bits(1f) >> 16, GgmlEncoding.ToBFloat16(halfway));
        Assert.Equal(BitConverter.SingleToUInt32Bits(1 + MathF.Pow(2, -6)) >> 16, GgmlEncoding.ToBFloat16(halfwayUp));
        Assert.True(float.IsNaN(BitConverter.Int32BitsToSingle(GgmlEncoding.ToBFloat16(float.NaN) << 16)));
    }

    [Fact]
    public void Every_truncation_is_refused_with_a_format_error()
    {
        string path = WriteSample();
        byte[] bytes = File.ReadAllBytes(path);
        var file = GgufFile.Read(path);
        // The last tensor's padding is not data: cutting it leaves a readable file.
        long needed = file.DataStart + file.Tensors[^1].Offset + file.Tensors[^1].ByteCount;
        string cut = temp.File("cut.gguf");
        for (int length = 0; length < needed; length++)
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(cut));
            Assert.Contains(cut, error.Message);
        }
    }

    [Fact]
    public void Any_corrupted_header_byte_is_read_or_refused_never_crashes()
    {
        string path = WriteSample();
        byte[] bytes = File.ReadAllBytes(path);
        long headerEnd = GgufFile.Read(path).DataStart;
        string bad = temp.File("bad.gguf");
        int refused = 0;
        for (int at = 0; at < headerEnd; at++)
            foreach (byte value in new byte[] { 0x00, 0x7f, 0xff })
            {
                if (bytes[at] == value) continue;
                var corrupted = (byte[])bytes.Clone();
                corrupted[at] = value;
                File.WriteAllBytes(bad, corrupted);
                try { GgufFile.Read(bad); }
                catch (GgufFormatException) { refused++; }
            }
        Assert.True(refused > 100, $"only {refused} corruptions were noticed");
    }

    [Theory]
    [InlineData("GGUF\u0002\0\0\0", "version 2 is not supported")]
    [InlineData("{\"a\": 1} and some more text here", "not a GGUF file")]
    public void Foreign_files_are_refused(string start, string message)
    {
        string path = temp.File("foreign.gguf");
        File.WriteAllBytes(path, [.. System.Text.Encoding.Latin1.GetBytes(start), .. new byte[64]]);
        Assert.Contains(message, Assert.Throws<GgufFormatException>(() => GgufFile.Read(path)).Message);
    }

    [Fact]
    public void A_length_past_the_file_is_refused_before_allocating()
    {
        string path = WriteSample();
        byte[] bytes = File.ReadAllBytes(path);
        // The first key's length (after magic, version and the two counts) claims 2^62 bytes.
        BitConverter.TryWriteBytes(bytes.AsSpan(24), 1UL << 62);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("cannot fit", Assert.Throws<GgufFormatException>(() => GgufFile.Read(path)).Message);
    }

    [Fact]
    public void A_gguf_of_another_architecture_or_without_a_vocabulary_is_described_but_not_loadable()
    {
        var writer = new GgufWriter();
        writer.Add("general.architecture", GgufValue.Of("gemma"));
        writer.Add("gemma.block_count", GgufValue.Of(2u));
        string path = temp.File("gemma.gguf");
        writer.Write(path);
        var model = GgufModel.Read(path);
        Assert.Equal("gemma", model.Architecture);
        Assert.Contains("architecture 'gemma' is not supported", Assert.Throws<GgufFormatException>(() => model.RequireLoadable()).Message);

        writer = new GgufWriter();
        writer.Add("general.architecture", GgufValue.Of("llama"));
        foreach (var (key, value) in new[] { ("embedding_length", 8u), ("attention.head_count", 2u), ("feed_forward_length", 16u), ("block_count", 1u), ("context_length", 64u) })
            writer.Add($"llama.{key}", GgufValue.Of(value));
        path = temp.File("novocab.gguf");
        writer.Write(path);
        Assert.Contains("no tokenizer.ggml.tokens", Assert.Throws<GgufFormatException>(() => GgufModel.Read(path).RequireLoadable()).Message);
    }

    [Fact]
    public void A_failed_write_leaves_the_previous_file_and_no_temporary()
    {
        string path = WriteSample("kept.gguf");
        byte[] before = File.ReadAllBytes(path);
        var writer = new GgufWriter();
        writer.AddTensor("short", [32], GgmlType.F32, stream => stream.Write(new byte[4]));
        Assert.Throws<InvalidOperationException>(() => writer.Write(path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["kept.gguf"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Writer_refuses_what_llama_cpp_would_refuse()
    {
        var writer = new GgufWriter();
        Assert.Throws<ArgumentException>(() => writer.AddTensor(new string('x', 64), [1], GgmlType.F32, _ => { }));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("odd", [33], GgmlType.Q8_0, _ => { }));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("rank5", [1, 1, 1, 1, 1], GgmlType.F32, _ => { }));
        Assert.Throws<ArgumentException>(() => writer.Add(GgufFile.AlignmentKey, GgufValue.Of(64u)));
    }
}
