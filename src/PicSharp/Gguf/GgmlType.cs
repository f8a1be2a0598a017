namespace PicSharp.Gguf;

/// <summary>Tensor element types, numbered as in ggml.h's ggml_type (the ones GGUF files in use carry).</summary>
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
}

/// <summary>How ggml lays out each type: elements per block and bytes per block (ggml.c's type_traits).</summary>
public static class GgmlTypes
{
    static readonly Dictionary<GgmlType, (int BlockSize, int BlockBytes)> Layouts = new()
    {
        [GgmlType.F32] = (1, 4), [GgmlType.F16] = (1, 2), [GgmlType.BF16] = (1, 2), [GgmlType.F64] = (1, 8),
        [GgmlType.I8] = (1, 1), [GgmlType.I16] = (1, 2), [GgmlType.I32] = (1, 4), [GgmlType.I64] = (1, 8),
        [GgmlType.Q4_0] = (32, 18), [GgmlType.Q4_1] = (32, 20), [GgmlType.Q5_0] = (32, 22), [GgmlType.Q5_1] = (32, 24),
        [GgmlType.Q8_0] = (32, 34), [GgmlType.Q8_1] = (32, 36), [GgmlType.IQ4_NL] = (32, 18), [GgmlType.MXFP4] = (32, 17),
        [GgmlType.Q2_K] = (256, 84), [GgmlType.Q3_K] = (256, 110), [GgmlType.Q4_K] = (256, 144), [GgmlType.Q5_K] = (256, 176),
        [GgmlType.Q6_K] = (256, 210), [GgmlType.Q8_K] = (256, 292), [GgmlType.IQ2_XXS] = (256, 66), [GgmlType.IQ2_XS] = (256, 74),
        [GgmlType.IQ3_XXS] = (256, 98), [GgmlType.IQ1_S] = (256, 50), [GgmlType.IQ3_S] = (256, 110), [GgmlType.IQ2_S] = (256, 82),
        [GgmlType.IQ4_XS] = (256, 136), [GgmlType.IQ1_M] = (256, 56), [GgmlType.TQ1_0] = (256, 54), [GgmlType.TQ2_0] = (256, 66),
    };

    public static bool IsKnown(GgmlType type) => Layouts.ContainsKey(type);

    /// <summary>Elements per block: a row's length (ne[0]) must be a multiple of it.</summary>
    public static int BlockSize(GgmlType type) => Layout(type).BlockSize;

    /// <summary>Bytes of a tensor of <paramref name="dims"/> (ggml order, ne[0] first), or an exception naming the
    /// problem: a row that is not whole blocks, or a size past what a file can hold.</summary>
    public static long ByteCount(GgmlType type, IReadOnlyList<long> dims)
    {
        var (blockSize, blockBytes) = Layout(type);
        if (dims.Count == 0 || dims[0] % blockSize != 0)
            throw new ArgumentException($"a {type} tensor needs rows of whole {blockSize}-element blocks; ne[0] is {(dims.Count == 0 ? "missing" : dims[0])}");
        long bytes = checked(dims[0] / blockSize * blockBytes);
        for (int i = 1; i < dims.Count; i++) bytes = checked(bytes * dims[i]);
        return bytes;
    }

    static (int BlockSize, int BlockBytes) Layout(GgmlType type) => Layouts.TryGetValue(type, out var layout)
        ? layout
        : throw new ArgumentException($"ggml type {(uint)type} is not one this reader knows");
}
