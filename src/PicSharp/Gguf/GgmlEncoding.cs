namespace PicSharp.Gguf;

/// <summary>
/// fp32 values to and from ggml's element encodings, bit for bit as ggml computes them: f16 and bf16 round to nearest
/// even; q8_0 is blocks of 32 values stored as an fp16 scale d = max|x| / 127 and 32 int8 round(x / d) (rounding half
/// away from zero, as ggml's quantize_row_q8_0_ref does).
/// </summary>
public static class GgmlEncoding
{
    public const int Q8BlockSize = 32;
    const int Q8BlockBytes = 2 + Q8BlockSize;

    public static bool CanEncode(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0;

    /// <summary>Bytes of <paramref name="values"/> in <paramref name="type"/>; for q8_0 their count must be whole blocks.</summary>
    public static byte[] Encode(GgmlType type, ReadOnlySpan<float> values)
    {
        switch (type)
        {
            case GgmlType.F32:
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray();
            case GgmlType.F16:
            {
                var bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (Half)values[i]);
                return bytes;
            }
            case GgmlType.BF16:
            {
                var bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), ToBFloat16(values[i]));
                return bytes;
            }
            case GgmlType.Q8_0:
                return EncodeQ8_0(values);
            default:
                throw new ArgumentException($"writing {type} tensors is not supported; supported: F32, F16, BF16, Q8_0");
        }
    }

    /// <summary>fp32 values of data stored as <paramref name="type"/> (F32, F16, BF16 or Q8_0).</summary>
    public static float[] Decode(GgmlType type, ReadOnlySpan<byte> data)
    {
        switch (type)
        {
            case GgmlType.F32:
                return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray();
            case GgmlType.F16:
            {
                var values = new float[data.Length / 2];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BitConverter.ToHalf(data[(2 * i)..]);
                return values;
            }
            case GgmlType.BF16:
            {
                var values = new float[data.Length / 2];
                for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(data[(2 * i)..]) << 16);
                return values;
            }
            case GgmlType.Q8_0:
            {
                int blocks = data.Length / Q8BlockBytes;
                var values = new float[blocks * Q8BlockSize];
                for (int b = 0; b < blocks; b++)
                {
                    var block = data.Slice(b * Q8BlockBytes, Q8BlockBytes);
                    float d = (float)BitConverter.ToHalf(block);
                    for (int j = 0; j < Q8BlockSize; j++) values[b * Q8BlockSize + j] = d * (sbyte)block[2 + j];
                }
                return values;
            }
            default:
                throw new ArgumentException($"reading {type} tensor values is not supported; supported: F32, F16, BF16, Q8_0");
        }
    }

    /// <summary>ggml_compute_fp32_to_bf16: round to nearest even; NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }

    static byte[] EncodeQ8_0(ReadOnlySpan<float> values)
    {
        if (values.Length % Q8BlockSize != 0)
            throw new ArgumentException($"q8_0 needs whole blocks of {Q8BlockSize} values; got {values.Length}");
        int blocks = values.Length / Q8BlockSize;
        var bytes = new byte[blocks * Q8BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            var x = values.Slice(b * Q8BlockSize, Q8BlockSize);
            float amax = 0;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            var block = bytes.AsSpan(b * Q8BlockBytes, Q8BlockBytes);
            BitConverter.TryWriteBytes(block, (Half)d);
            for (int j = 0; j < Q8BlockSize; j++)
                block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
        return bytes;
    }
}
