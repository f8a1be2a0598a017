using PicSharp.Compression;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Serving.Store;

/// <summary>
/// A one-context memory's tensors as one dense array: embeddings [1, K, hidden], or for the key-values kind every
/// layer's keys and values stacked [layers, 2, 1, kv_heads, K, head_dim]. Plain bytes, so a store can keep them anywhere.
/// </summary>
public sealed record MemoryBlob(string Dtype, long[] Shape, byte[] Data)
{
    public static MemoryBlob Of(CompressedMemory memory)
    {
        if (memory.Batch != 1) throw new ArgumentException($"a stored memory holds one context, this one has {memory.Batch}");
        using var scope = NewDisposeScope();
        var row = memory.Row(0);
        var dense = (row.Embeddings ?? stack(row.KeyValues!.Select(kv => stack([kv.Keys, kv.Values])).ToList())).cpu().contiguous();
        return new MemoryBlob(ModelFolder.TorchDtypeName(dense.dtype), dense.shape, dense.bytes.ToArray());
    }

    public CompressedMemory ToMemory(MemoryKind kind, int count, long nextPosition, int contextLength)
    {
        var dtype = ModelFolder.ParseTorchDtype(Dtype);
        var dense = empty(Shape, dtype);
        long needed = dense.numel() * dense.ElementSize;
        if (needed != Data.Length)
        {
            dense.Dispose();
            throw new InvalidDataException($"stored memory tensors hold {Data.Length} bytes but shape [{string.Join(", ", Shape)}] of {Dtype} needs {needed}");
        }
        Data.CopyTo(dense.bytes);
        if (kind == MemoryKind.Embeddings) return new CompressedMemory(kind, dense, null, [count], [nextPosition], [contextLength]);
        using var scope = NewDisposeScope();
        var layers = Enumerable.Range(0, (int)Shape[0])
            .Select(l => (dense[l, 0].clone().MoveToOuterDisposeScope(), dense[l, 1].clone().MoveToOuterDisposeScope())).ToList();
        dense.Dispose();
        return new CompressedMemory(kind, null, layers, [count], [nextPosition], [contextLength]);
    }
}
