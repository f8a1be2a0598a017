using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// Per-layer keys and values of the tokens seen so far, shaped [batch, kv_heads, length, head_dim] (after RoPE, before
/// GQA repetition). Generation appends to it one token at a time; the key-values memory kind pre-fills it with the
/// compressor's memory-token K/V so the decoder reads them as a prefix. The cache owns its tensors.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] keys;
    readonly Tensor?[] values;

    public KvCache(int layers)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>
    /// A cache that starts with the given per-layer (K, V) prefix; tokens that follow it get positions from
    /// <paramref name="nextPosition"/> on (the prefix keys carry whatever positions they were computed at).
    /// </summary>
    public static KvCache FromPrefix(IReadOnlyList<(Tensor Keys, Tensor Values)> prefix, long nextPosition)
    {
        var cache = new KvCache(prefix.Count);
        for (int layer = 0; layer < prefix.Count; layer++)
            cache.Append(layer, prefix[layer].Keys, prefix[layer].Values);
        cache.NextPosition = nextPosition;
        return cache;
    }

    /// <summary>Position id of the next token to come (one past the last one seen).</summary>
    public long NextPosition { get; set; }

    public int Layers => keys.Length;

    /// <summary>Tokens held, read from the first layer (the forward reads it once, before any layer appends).</summary>
    public int Length => keys[0] is null ? 0 : (int)keys[0]!.shape[2];

    public Tensor Keys(int layer) => keys[layer] ?? throw new InvalidOperationException($"layer {layer} has no cached keys");
    public Tensor Values(int layer) => values[layer] ?? throw new InvalidOperationException($"layer {layer} has no cached values");

    /// <summary>Appends new keys/values along the sequence axis and returns the full cached tensors for the layer.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor newKeys, Tensor newValues)
    {
        keys[layer] = Concatenate(keys[layer], newKeys);
        values[layer] = Concatenate(values[layer], newValues);
        return (keys[layer]!, values[layer]!);
    }

    static Tensor Concatenate(Tensor? old, Tensor fresh)
    {
        Tensor merged = old is null ? fresh.alias() : cat([old, fresh], dim: 2);
        old?.Dispose();
        merged.DetachFromDisposeScope();
        return merged;
    }

    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
    }
}
