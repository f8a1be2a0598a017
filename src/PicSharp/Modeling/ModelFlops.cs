namespace PicSharp.Modeling;

/// <summary>
/// Analytic floating-point operation counts of a Llama-family model (a multiply-add counts as 2), for model-FLOP
/// utilisation. Counted: every projection, the LM head on every position, and the two attention matmuls (QKᵀ and
/// attention·V) over the key positions each query may see under causal attention. Not counted: norms, RoPE,
/// activations, softmax, embedding lookups (all linear in the hidden size, negligible beside the matmuls).
/// </summary>
public static class ModelFlops
{
    /// <summary>Weights that take part in a matmul per token: the decoder stack's projections and the LM head.</summary>
    public static long MatmulParameters(LlamaConfig config) => LayerMatmulParameters(config) + LmHeadParameters(config);

    /// <summary>The decoder stack's projection weights (attention and MLP of every layer), without the LM head.</summary>
    public static long LayerMatmulParameters(LlamaConfig config)
    {
        long hidden = config.HiddenSize, headDim = config.HeadDim;
        long attention = hidden * config.NumAttentionHeads * headDim * 2 + hidden * config.NumKeyValueHeads * headDim * 2;
        long mlp = 3 * hidden * config.IntermediateSize;
        return config.NumHiddenLayers * (attention + mlp);
    }

    /// <summary>The LM head: a matmul whether or not it shares the embedding matrix.</summary>
    public static long LmHeadParameters(LlamaConfig config) => (long)config.HiddenSize * config.VocabSize;

    /// <summary>QKᵀ and attention·V over <paramref name="attendedPairs"/> (query, key) pairs, every head and layer.</summary>
    public static double Attention(LlamaConfig config, double attendedPairs) =>
        2.0 * 2.0 * config.NumHiddenLayers * config.NumAttentionHeads * config.HeadDim * attendedPairs;

    /// <summary>(query, key) pairs of <paramref name="sequence"/> causal queries after <paramref name="past"/> visible
    /// keys: query i (0-based) sees past + i + 1 keys.</summary>
    public static double CausalPairs(long sequence, long past = 0) => sequence * (double)past + sequence * (sequence + 1) / 2.0;

    /// <summary>
    /// One forward over <paramref name="sequence"/> new tokens per row that follow <paramref name="past"/> cached
    /// tokens, causal attention, logits on every new position.
    /// </summary>
    public static double Forward(LlamaConfig config, long batch, long sequence, long past = 0) =>
        batch * (2.0 * MatmulParameters(config) * sequence + Attention(config, CausalPairs(sequence, past)));

    /// <summary>Forward plus backward: the backward pass costs two forwards (gradients of inputs and of weights).</summary>
    public static double ForwardBackward(LlamaConfig config, long batch, long sequence) => 3 * Forward(config, batch, sequence);
}
