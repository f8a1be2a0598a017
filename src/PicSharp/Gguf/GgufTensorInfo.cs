namespace PicSharp.Gguf;

/// <summary>
/// A tensor's entry in a GGUF header. <paramref name="Dims"/> are in ggml order (ne[0] = the contiguous dimension
/// first: the reverse of torch's shape); <paramref name="Offset"/> counts from the start of the data section.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset)
{
    public long ElementCount => Dims.Aggregate(1L, (a, b) => checked(a * b));
    public long ByteCount => GgmlTypes.ByteCount(Type, Dims);
    /// <summary>The torch shape of the same data (dims reversed).</summary>
    public long[] TorchShape => [.. Dims.Reverse()];
}
