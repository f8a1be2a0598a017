using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// Per-layer keys and values of the tokens seen so far, shaped [batch, kv_heads, length, head_dim] (after RoPE, before
/// GQA repetition). Generation appends to it one token at a time; the key-values memory kind pre-fills it with the
/// compressor's memory-token K/V so the decoder reads them as a prefix. The cache owns its tensors.
/// </summary>
/// <remarks>
/// Each layer's K/V live in one buffer [batch, kv_heads, capacity, head_dim] that new tokens are copied into in place;
/// readers get a view of the filled part. Appending a token therefore costs one small copy instead of a copy of the
/// whole cache. A buffer that fills up is replaced by one of twice the capacity (amortised constant cost); give the
/// expected length up front to avoid even that.
/// </remarks>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] keys;
    readonly Tensor?[] values;
    readonly int[] lengths;
    readonly int initialCapacity;

    /// <param name="capacity">tokens to make room for at the first append (more are still accepted).</param>
    public KvCache(int layers, int capacity = 0)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
        lengths = new int[layers];
        initialCapacity = capacity;
    }

    /// <summary>
    /// A cache that starts with the given per-layer (K, V) prefix; tokens that follow it get positions from
    /// <paramref name="nextPosition"/> on (the prefix keys carry whatever positions they were computed at).
    /// </summary>
    /// <param name="capacity">total tokens (prefix included) to make room for.</param>
    public static KvCache FromPrefix(IReadOnlyList<(Tensor Keys, Tensor Values)> prefix, long nextPosition, int capacity = 0)
    {
        var cache = new KvCache(prefix.Count, capacity);
        for (int layer = 0; layer < prefix.Count; layer++)
            cache.Append(layer, prefix[layer].Keys, prefix[layer].Values);
        cache.NextPosition = nextPosition;
        return cache;
    }

    /// <summary>Position id of the next token to come (one past the last one seen).</summary>
    public long NextPosition { get; set; }

    public int Layers => keys.Length;

    /// <summary>Tokens held, read from the first layer (the forward reads it once, before any layer appends).</summary>
    public int Length => lengths[0];

    /// <summary>Tokens each layer's buffer holds before it has to grow.</summary>
    public int Capacity => keys[0] is null ? 0 : (int)keys[0]!.shape[2];

    public Tensor Keys(int layer) => Filled(keys[layer], layer) ?? throw new InvalidOperationException($"layer {layer} has no cached keys");
    public Tensor Values(int layer) => Filled(values[layer], layer) ?? throw new InvalidOperationException($"layer {layer} has no cached values");

    Tensor? Filled(Tensor? buffer, int layer) => buffer?.narrow(2, 0, lengths[layer]);

    /// <summary>Writes new keys/values after the cached ones and returns views of the layer's filled keys/values.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor newKeys, Tensor newValues)
    {
        int added = (int)newKeys.shape[2];
        int length = lengths[layer] + added;
        keys[layer] = WithRoom(keys[layer], newKeys, lengths[layer], length);
        values[layer] = WithRoom(values[layer], newValues, lengths[layer], length);
        keys[layer]!.narrow(2, lengths[layer], added).copy_(newKeys);
        values[layer]!.narrow(2, lengths[layer], added).copy_(newValues);
        lengths[layer] = length;
        return (Keys(layer), Values(layer));
    }

    // The layer's buffer if it has room for `needed` tokens, else a bigger one holding the first `filled` tokens.
    Tensor WithRoom(Tensor? buffer, Tensor fresh, int filled, int needed)
    {
        if (buffer is not null && buffer.shape[2] >= needed) return buffer;
        int capacity = Math.Max(needed, Math.Max(initialCapacity, 2 * (int)(buffer?.shape[2] ?? 0)));
        var grown = empty([fresh.shape[0], fresh.shape[1], capacity, fresh.shape[3]], dtype: fresh.dtype, device: fresh.device);
        grown.DetachFromDisposeScope();
        if (buffer is not null)
        {
            if (filled > 0) grown.narrow(2, 0, filled).copy_(buffer.narrow(2, 0, filled));
            buffer.Dispose();
        }
        return grown;
    }

    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
        Array.Clear(lengths);
    }
}
