using PicSharp.Compression;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.CompressorTraining;

/// <summary>
/// Analytic FLOPs of a `pic train-compressor` step (a multiply-add counts as 2; what is and is not counted as in
/// <see cref="ModelFlops"/>), for its model-FLOP utilisation. Per example, with W the decoder stack's projection
/// weights, A the LoRA matrices' weights on the chosen targets (rank·(in + out) per adapted projection and layer),
/// H·V the LM head, and attn(pairs) = 4·layers·heads·head_dim·pairs:
/// <list type="bullet">
/// <item>Compressor forward over S = context + memory tokens, adapters on: 2·(W + A)·S + attn(P), where P counts the
/// (query, key) pairs the policy's mask allows (<see cref="ChunkMask"/>; under `pic` that is chunk-causal, which the
/// fast path computes exactly). No LM head: the compressor's output is its memory slots' hidden states (or K/V).</item>
/// <item>Compressor backward: the loss reaches every position (text tokens feed memory tokens through attention),
/// so activation gradients run through the whole stack: frozen projections cost 1× their forward (input gradients
/// only, no weight gradients), LoRA 2× (input and weight gradients), attention 2× (gradients of Q, K and V):
/// 2·W·S + 4·A·S + 2·attn(P).</item>
/// <item>Frozen decoder forward, adapters off, over D = memory + task token + prompt + target positions (for the
/// key-values kind D = task + prompt + target, after a prefix of M memory positions every query sees), logits only
/// on the T target tokens: 2·W·D + 2·H·V·T + attn(causal pairs).</item>
/// <item>Decoder backward: activation gradients only (the gradient must reach the memory): 2·W·D + 2·H·V·T +
/// 2·attn(causal pairs).</item>
/// </list>
/// Total: 4·W·S + 6·A·S + 3·attn(P) + 4·W·D + 4·H·V·T + 3·attn(decoder pairs); beside pretraining's 6·(W + H·V)·N +
/// 3·attn, the frozen weights save a third of the projection work. Padding of rows to the batch's longest is computed
/// but not counted (it is not model work).
/// </summary>
public sealed class CompressorFlops(LlamaConfig config, CompressorOptions options)
{
    readonly Dictionary<int, long> pairsByContextLength = [];

    /// <summary>LoRA weights that take part in a matmul per token: rank·(in + out) per adapted projection, every layer.</summary>
    public static long LoraMatmulParameters(LlamaConfig config, LoraOptions lora)
    {
        long hidden = config.HiddenSize, queries = (long)config.NumAttentionHeads * config.HeadDim, keys = (long)config.NumKeyValueHeads * config.HeadDim;
        long PerToken(string target) => target switch
        {
            "q_proj" => hidden + queries,
            "k_proj" or "v_proj" => hidden + keys,
            "o_proj" => queries + hidden,
            "gate_proj" or "up_proj" or "down_proj" => hidden + config.IntermediateSize,
            _ => throw new ArgumentException($"unknown LoRA target module {target}"),
        };
        return config.NumHiddenLayers * lora.Rank * lora.TargetModules.Sum(PerToken);
    }

    /// <summary>(query, key) pairs the compressor's mask allows for a context of <paramref name="contextLength"/> tokens.</summary>
    public long CompressorPairs(int contextLength)
    {
        if (pairsByContextLength.TryGetValue(contextLength, out long pairs)) return pairs;
        using var scope = NewDisposeScope();
        pairs = ChunkMask.Build(options.Layout(contextLength), options.Policy).sum().item<long>();
        return pairsByContextLength[contextLength] = pairs;
    }

    /// <summary>Forward and backward of the compressor over one context (gradients to the adapters and memory tokens).</summary>
    public double Compressor(int contextLength)
    {
        long sequence = contextLength + options.MemoryCount(contextLength);
        double projections = 4.0 * ModelFlops.LayerMatmulParameters(config) * sequence
            + 6.0 * LoraMatmulParameters(config, options.Lora) * sequence;
        return projections + 3 * ModelFlops.Attention(config, CompressorPairs(contextLength));
    }

    /// <summary>Forward and backward (activation gradients only) of the frozen decoder reading a memory of
    /// <paramref name="memoryTokens"/> tokens, the task token, <paramref name="promptTokens"/> and <paramref name="targetTokens"/>.</summary>
    public double Decoder(int memoryTokens, int promptTokens, int targetTokens)
    {
        bool prefix = options.Kind == MemoryKind.KeyValues;
        long positions = (prefix ? 0 : memoryTokens) + 1 + promptTokens + targetTokens;
        double pairs = ModelFlops.CausalPairs(positions, past: prefix ? memoryTokens : 0);
        return 4.0 * ModelFlops.LayerMatmulParameters(config) * positions + 4.0 * ModelFlops.LmHeadParameters(config) * targetTokens
            + 3 * ModelFlops.Attention(config, pairs);
    }

    /// <summary>One training example: its compressor and decoder passes.</summary>
    public double Example(CompressorExample example) =>
        Compressor(example.Context.Count) + Decoder(options.MemoryCount(example.Context.Count), example.Decoder.Prompt.Count, example.Decoder.Target.Count);
}
