using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Modeling;

/// <summary>
/// The tensors of one generation batch. Rows are laid out in the cache as [prefix, padded to the longest][prompt,
/// padded to the longest][generated tokens], so every row writes its new token into the same column; padding columns
/// are masked per row, and each row's positions continue from its own prompt. When no row needs padding there is no
/// mask at all and positions come from the cache (the batch-1 case).
/// </summary>
sealed class DecodingBatch : IDisposable
{
    readonly LlamaForCausalLM model;
    readonly KvCache cache;
    readonly Tensor paddedPrompts;     // [batch, longest prompt, hidden]
    readonly int[] promptLengths;
    readonly long[] nextPositions;     // position of each row's next token
    readonly Tensor? visible;          // [batch, capacity] bool: columns a row may attend to; null when nothing is padded
    readonly int prefixWidth;

    public DecodingBatch(LlamaForCausalLM model, IReadOnlyList<GenerationPrompt> prompts, int maxNewTokens)
    {
        this.model = model;
        int batch = prompts.Count;
        promptLengths = prompts.Select(p => (int)p.Embeddings.shape[0]).ToArray();
        int[] prefixLengths = prompts.Select(p => p.Prefix is null ? 0 : (int)p.Prefix[0].Keys.shape[2]).ToArray();
        int promptWidth = promptLengths.Max();
        prefixWidth = prefixLengths.Max();
        // Room for every token up front (no growth while decoding), but not for more new tokens than the model has
        // positions: an unreachable max_new_tokens must not reserve memory (the cache still grows if asked to).
        int capacity = prefixWidth + promptWidth + Math.Min(maxNewTokens, model.Config.MaxPositionEmbeddings);
        nextPositions = prompts.Select(p => p.StartPosition).ToArray();

        cache = new KvCache(model.Config.NumHiddenLayers, capacity);
        if (prefixWidth > 0)
            for (int layer = 0; layer < cache.Layers; layer++)
                cache.Append(layer, PaddedPrefix(prompts, layer, p => p.Keys), PaddedPrefix(prompts, layer, p => p.Values));

        paddedPrompts = stack(prompts.Select(p => F.pad(p.Embeddings.to(model.Dtype), [0, 0, 0, promptWidth - p.Embeddings.shape[0]])).ToList())
            .DetachFromDisposeScope();
        if (promptLengths.Any(l => l != promptWidth) || prefixLengths.Any(l => l != prefixWidth))
        {
            var columns = TorchScalars.Range(0, capacity).unsqueeze(0);
            var prefixEnd = tensor(prefixLengths.Select(l => (long)l).ToArray()).unsqueeze(1);
            var promptEnd = tensor(promptLengths.Select(l => (long)(prefixWidth + l)).ToArray()).unsqueeze(1);
            using var promptsStart = prefixWidth.ToScalar();
            using var newTokensStart = (prefixWidth + promptWidth).ToScalar();
            visible = (columns < prefixEnd).logical_or(columns.ge(promptsStart)).logical_and(
                (columns < promptEnd).logical_or(columns.ge(newTokensStart))).DetachFromDisposeScope();
        }
    }

    Tensor PaddedPrefix(IReadOnlyList<GenerationPrompt> prompts, int layer, Func<(Tensor Keys, Tensor Values), Tensor> part)
    {
        var first = part(prompts.First(p => p.Prefix is not null).Prefix![layer]);
        var padded = zeros([prompts.Count, first.shape[1], prefixWidth, first.shape[3]], dtype: model.Dtype);
        for (int b = 0; b < prompts.Count; b++)
            if (prompts[b].Prefix is { } prefix)
            {
                var rows = part(prefix[layer]);
                padded[b..(b + 1), .., ..(int)rows.shape[2]] = rows.to(model.Dtype);
            }
        return padded;
    }

    /// <summary>Runs the prompts and returns each row's logits for its first new token, [batch, vocab].</summary>
    public Tensor Prefill()
    {
        using var scope = NewDisposeScope();
        int width = (int)paddedPrompts.shape[1];
        Tensor? mask = null;
        if (visible is not null)
        {
            // Prefix columns as the row allows, then causal over the padded prompts (padding sits after a row's own
            // tokens, so real tokens never see it).
            var prefix = visible[.., ..prefixWidth].unsqueeze(1).expand(-1, width, -1);
            var causal = AttentionMask.Causal(width).unsqueeze(0).expand(visible.shape[0], -1, -1);
            mask = cat([prefix, causal], dim: 2);
        }
        var hidden = RunModel(paddedPrompts, width, mask);
        var lastIndex = tensor(promptLengths.Select((l, b) => (long)b * width + l - 1).ToArray());
        var lastHidden = hidden.reshape(-1, hidden.shape[2]).index_select(0, lastIndex);
        for (int b = 0; b < nextPositions.Length; b++) nextPositions[b] += promptLengths[b];
        return model.Logits(lastHidden).MoveToOuterDisposeScope();
    }

    /// <summary>Feeds one token per row and returns the logits for the next, [batch, vocab].</summary>
    public Tensor Step(long[] tokens)
    {
        using var scope = NewDisposeScope();
        var embeddings = model.Embed(tensor(tokens).unsqueeze(1));
        var mask = visible?.narrow(1, 0, cache.Length + 1).unsqueeze(1).unsqueeze(1);
        var hidden = RunModel(embeddings, 1, mask);
        for (int b = 0; b < nextPositions.Length; b++) nextPositions[b]++;
        return model.Logits(hidden[.., -1]).MoveToOuterDisposeScope();
    }

    // Rows sharing one start position read the rotary tables by the cache's position; others pass their own.
    Tensor RunModel(Tensor embeddings, int width, Tensor? mask)
    {
        if (nextPositions.All(p => p == nextPositions[0]))
        {
            cache.NextPosition = nextPositions[0];
            return model.Forward(embeddings, mask: mask, cache: cache);
        }
        var positions = tensor(nextPositions).unsqueeze(1).add(TorchScalars.Range(0, width).unsqueeze(0), TorchScalars.One);
        return model.Forward(embeddings, positions, nextPositions.Max() + width, mask, cache);
    }

    public void Dispose()
    {
        cache.Dispose();
        paddedPrompts.Dispose();
        visible?.Dispose();
    }
}
