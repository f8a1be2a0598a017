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
    public static long MatmulParameters(LlamaConfig config)
    {
        long hidden = config.HiddenSize, headDim = config.HeadDim;
        long attention = hidden * config.NumAttentionHeads * headDim * 2 + hidden * config.NumKeyValueHeads * headDim * 2;
        long mlp = 3 * hidden * config.IntermediateSize;
        long lmHead = hidden * config.VocabSize; // a matmul whether or not it shares the embedding matrix
        return config.NumHiddenLayers * (attention + mlp) + lmHead;
    }

    /// <summary>
    /// One forward over <paramref name="sequence"/> new tokens per row that follow <paramref name="past"/> cached
    /// tokens, causal attention, logits on every new position.
    /// </summary>
    public static double Forward(LlamaConfig config, long batch, long sequence, long past = 0)
    {
        // Query i (0-based among the new tokens) sees past + i + 1 keys.
        double attendedPairs = sequence * (double)past + sequence * (sequence + 1) / 2.0;
        double attention = 2.0 * 2.0 * config.NumHiddenLayers * config.NumAttentionHeads * config.HeadDim * attendedPairs;
        return batch * (2.0 * MatmulParameters(config) * sequence + attention);
    }

    /// <summary>Forward plus backward: the backward pass costs two forwards (gradients of inputs and of weights).</summary>
    public static double ForwardBackward(LlamaConfig config, long batch, long sequence) => 3 * Forward(config, batch, sequence);
}
