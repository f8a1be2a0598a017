using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>How to pick tokens and when to stop. Temperature 0 means greedy.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; }
    public double TopP { get; init; } = 1.0;
    public ulong Seed { get; init; } = 0;
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = [];
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting generation cannot use.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be at least 1, got {MaxNewTokens}");
        if (!double.IsFinite(Temperature) || Temperature < 0)
            throw new ArgumentException($"temperature must be a number ≥ 0 (0 = greedy), got {Temperature}");
        if (!(TopP is > 0 and <= 1)) throw new ArgumentException($"top_p must be in (0, 1], got {TopP}");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("a stop string is empty: it would stop before the first token");
    }
}

public enum StopReason { StopToken, StopString, MaxNewTokens }

/// <param name="Tokens">generated ids, without the stop token (a stop string's tokens are kept; see StopString).</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, StopReason Reason, string? StopString);

/// <summary>Token-by-token generation with a KV cache: one forward over the prompt, then one per new token.</summary>
public static class TextGeneration
{
    /// <param name="promptEmbeddings">[1, seq, hidden]: token embeddings, or memory embeddings followed by them.</param>
    /// <param name="cache">optional pre-filled cache (a KV-prefix memory); consumed and extended.</param>
    /// <param name="decode">turns generated ids into text; needed only for stop strings.</param>
    /// <param name="onToken">called with each new token as soon as it is chosen (streaming).</param>
    public static GenerationResult Generate(
        LlamaForCausalLM model, Tensor promptEmbeddings, GenerationOptions options, KvCache? cache = null,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null)
    {
        if (promptEmbeddings.dim() != 3 || promptEmbeddings.shape[0] != 1)
            throw new ArgumentException($"generation takes one sequence [1, seq, hidden], got [{string.Join(", ", promptEmbeddings.shape)}]");
        if (options.StopStrings.Count > 0 && decode is null)
            throw new ArgumentException("stop strings need a decode function");
        options.Validate();

        using var _ = no_grad();
        bool ownsCache = cache is null;
        cache ??= new KvCache(model.Config.NumHiddenLayers);
        // The prompt is the caller's; each later input (one token's embedding) is ours to free.
        Tensor input = promptEmbeddings;
        try
        {
            using var generator = new Generator(options.Seed);
            var tokens = new List<int>();
            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                int next;
                using (var scope = NewDisposeScope())
                {
                    var hidden = model.Forward(input, cache: cache);
                    var logits = model.Logits(hidden[.., -1]).to(ScalarType.Float32)[0];
                    if (!double.IsFinite(logits.sum().item<float>()))
                        throw new InvalidOperationException("the model produced NaN or infinite logits: its weights or config values are broken");
                    next = Choose(logits, options, generator);
                    if (options.StopTokenIds.Contains(next)) return new GenerationResult(tokens, StopReason.StopToken, null);
                    tokens.Add(next);
                    onToken?.Invoke(next);
                    var previous = input;
                    input = model.Embed(tensor(new long[] { next }).unsqueeze(0)).DetachFromDisposeScope();
                    if (!ReferenceEquals(previous, promptEmbeddings)) previous.Dispose();
                }
                if (options.StopStrings.Count > 0)
                {
                    string text = decode!(tokens);
                    string? hit = options.StopStrings.FirstOrDefault(text.Contains);
                    if (hit is not null) return new GenerationResult(tokens, StopReason.StopString, hit);
                }
            }
            return new GenerationResult(tokens, StopReason.MaxNewTokens, null);
        }
        finally
        {
            if (!ReferenceEquals(input, promptEmbeddings)) input.Dispose();
            if (ownsCache) cache.Dispose();
        }
    }

    /// <summary>Greedy at temperature 0; otherwise nucleus sampling over the smallest set with mass ≥ top_p.</summary>
    public static int Choose(Tensor logits, GenerationOptions options, Generator generator)
    {
        if (options.Temperature <= 0) return (int)logits.argmax().item<long>();
        using var scope = NewDisposeScope();
        var probabilities = (logits / options.Temperature).softmax(-1);
        var (sorted, order) = probabilities.sort(descending: true);
        // Keep a token while the mass before it is below top_p, so the first token always survives.
        var massBefore = sorted.cumsum(0) - sorted;
        var kept = sorted.masked_fill(massBefore >= options.TopP, 0);
        var pick = multinomial(kept / kept.sum(), 1, generator: generator);
        return (int)order[pick].item<long>();
    }
}
