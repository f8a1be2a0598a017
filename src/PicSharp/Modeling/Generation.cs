using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>How to pick tokens and when to stop. Temperature 0 means greedy.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; }
    public double TopP { get; init; } = 1.0;
    /// <summary>Sampling seed; every row of a batch draws from its own generator with this seed.</summary>
    public ulong Seed { get; init; } = 0;
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = [];
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>The text (streamed and final) without leading or trailing white space: an answer after "Answer:"
    /// starts with a space that is no part of it.</summary>
    public bool TrimText { get; init; }

    /// <summary>Throws an <see cref="InvalidInputException"/> naming the first setting generation cannot use.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new InvalidInputException($"max new tokens must be at least 1, got {MaxNewTokens}");
        if (!double.IsFinite(Temperature) || Temperature < 0)
            throw new InvalidInputException($"temperature must be a number ≥ 0 (0 = greedy), got {Temperature}");
        if (!(TopP is > 0 and <= 1)) throw new InvalidInputException($"top_p must be in (0, 1], got {TopP}");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new InvalidInputException("a stop string is empty: it would stop before the first token");
    }
}

/// <summary>Why a row stopped; <see cref="Cancelled"/>: its caller gave up (the row's token fired), the other rows went on.</summary>
public enum StopReason { StopToken, StopString, MaxNewTokens, Cancelled }

public static class StopReasons
{
    /// <summary>The one name every front end shows (CLI, HTTP, chat): OpenAI's finish reasons "stop" (a stop token
    /// or string) and "length" (the answer limit), and "cancelled".</summary>
    public static string Name(this StopReason reason) => reason switch
    {
        StopReason.MaxNewTokens => "length",
        StopReason.Cancelled => "cancelled",
        _ => "stop",
    };
}

/// <param name="Tokens">generated ids, without the stop token (a stop string's tokens are kept; see StopString).</param>
/// <param name="Text">the text of the tokens up to the stop string (trimmed under <see cref="GenerationOptions.TrimText"/>);
/// null when generation had no decode function.</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, StopReason Reason, string? StopString, string? Text = null);

/// <summary>
/// One sequence to continue: its prompt embeddings [seq, hidden] (token embeddings, or memory embeddings followed by
/// them) and, for a key-values memory, the per-layer K/V prefix [1, kv_heads, n, head_dim] it reads first; the prompt's
/// positions start at <paramref name="StartPosition"/> (after the prefix's own positions).
/// </summary>
public sealed record GenerationPrompt(Tensor Embeddings, IReadOnlyList<(Tensor Keys, Tensor Values)>? Prefix = null, long StartPosition = 0)
{
    /// <summary>This row's answer length when it differs from the batch's options (a server batches callers with their own limits).</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>When it fires the row stops (<see cref="StopReason.Cancelled"/>) and the other rows go on.</summary>
    public CancellationToken Cancel { get; init; }
}

/// <summary>
/// Token-by-token generation with a KV cache: one forward over the prompts, then one per new token. Several prompts
/// (of any lengths, with or without K/V prefixes of any lengths) decode together as one batch; each row stops on its
/// own and gets the tokens it would get alone.
/// </summary>
public static class TextGeneration
{
    /// <param name="promptEmbeddings">[1, seq, hidden]: token embeddings, or memory embeddings followed by them.</param>
    /// <param name="cache">optional pre-filled cache (a KV-prefix memory), read as the prompt's prefix; the prompt
    /// continues at its NextPosition. The cache itself is left as it is.</param>
    /// <param name="decode">turns generated ids into text; needed for stop strings and text.</param>
    /// <param name="onToken">called with each new token as soon as it is chosen (streaming).</param>
    /// <param name="onText">called with each piece of text as soon as it is safe to show (see <see cref="StreamingDecoder"/>).</param>
    public static GenerationResult Generate(
        LlamaForCausalLM model, Tensor promptEmbeddings, GenerationOptions options, KvCache? cache = null,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null, Action<string>? onText = null)
    {
        if (promptEmbeddings.dim() != 3 || promptEmbeddings.shape[0] != 1)
            throw new ArgumentException($"generation takes one sequence [1, seq, hidden], got [{string.Join(", ", promptEmbeddings.shape)}]");
        using var scope = NewDisposeScope();
        var prompt = cache is null || cache.Length == 0
            ? new GenerationPrompt(promptEmbeddings[0], null, cache?.NextPosition ?? 0)
            : new GenerationPrompt(promptEmbeddings[0],
                Enumerable.Range(0, cache.Layers).Select(layer => (cache.Keys(layer), cache.Values(layer))).ToList(), cache.NextPosition);
        return GenerateBatch(model, [prompt], options, decode, onToken is null ? null : (_, token) => onToken(token),
            onText is null ? null : (_, piece) => onText(piece))[0];
    }

    /// <summary>Continues every prompt at once; result b belongs to prompt b. Each row has its own
    /// <see cref="StreamingDecoder"/>, which applies the stop strings and streams the row's text.</summary>
    /// <param name="onToken">called with (row, token) as soon as a row's token is chosen.</param>
    /// <param name="onText">called with (row, piece of text) as soon as the piece is safe to show; a row's last piece
    /// comes when generation ends (none for a cancelled row).</param>
    public static IReadOnlyList<GenerationResult> GenerateBatch(
        LlamaForCausalLM model, IReadOnlyList<GenerationPrompt> prompts, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int, int>? onToken = null, Action<int, string>? onText = null)
    {
        Validate(model, prompts, options, decode);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        int[] limits = prompts.Select(p => p.MaxNewTokens ?? options.MaxNewTokens).ToArray();
        int longest = limits.Max();
        var batch = new DecodingBatch(model, prompts, longest);
        var rows = prompts.Select((p, b) => new GenerationRow(options, limits[b], p.Cancel,
            decode is null ? null : new StreamingDecoder(decode, options.StopStrings, options.TrimText))).ToArray();
        try
        {
            var logits = batch.Prefill();
            for (int step = 0; ; step++)
            {
                long[] next;
                using (var stepScope = NewDisposeScope())
                    next = Choose(logits, options, rows);
                logits.Dispose();
                for (int b = 0; b < rows.Length; b++)
                    if (!rows[b].Done) rows[b].Accept((int)next[b], token => onToken?.Invoke(b, token), piece => onText?.Invoke(b, piece));
                if (rows.All(r => r.Done) || step + 1 == longest) break;
                logits = batch.Step(next);
            }
            for (int b = 0; b < rows.Length; b++)
                if (rows[b].Finish() is { Length: > 0 } rest) onText?.Invoke(b, rest);
            return rows.Select(r => r.Result()).ToArray();
        }
        finally
        {
            batch.Dispose();
            foreach (var row in rows) row.Dispose();
        }
    }

    static void Validate(LlamaForCausalLM model, IReadOnlyList<GenerationPrompt> prompts, GenerationOptions options, Func<IReadOnlyList<int>, string>? decode)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts to continue");
        if (options.StopStrings.Count > 0 && decode is null)
            throw new ArgumentException("stop strings need a decode function");
        options.Validate();
        for (int b = 0; b < prompts.Count; b++)
        {
            var p = prompts[b];
            if (p.MaxNewTokens is < 1) throw new ArgumentException($"prompt {b}: max new tokens must be at least 1, got {p.MaxNewTokens}");
            if (p.Embeddings.dim() != 2 || p.Embeddings.shape[0] == 0 || p.Embeddings.shape[1] != model.Config.HiddenSize)
                throw new ArgumentException($"prompt {b}: embeddings must be [seq > 0, {model.Config.HiddenSize}], got [{string.Join(", ", p.Embeddings.shape)}]");
            if (p.Prefix is not null && p.Prefix.Count != model.Config.NumHiddenLayers)
                throw new ArgumentException($"prompt {b}: a K/V prefix needs {model.Config.NumHiddenLayers} layers, got {p.Prefix.Count}");
        }
    }

    // Greedy for all rows at once, else each row samples from its own generator. The largest logit also tells
    // whether a row went NaN or infinite (max propagates NaN), so broken weights fail loudly at no extra pass.
    static long[] Choose(Tensor logits, GenerationOptions options, GenerationRow[] rows)
    {
        var (largest, argmax) = logits.max(-1);
        if (largest.to(ScalarType.Float32).data<float>().ToArray().Any(v => !float.IsFinite(v)))
            throw new InvalidDataException("the model produced NaN or infinite logits: its weights or config values are broken");
        if (options.Temperature <= 0) return argmax.data<long>().ToArray();
        var probabilities = logits.to(ScalarType.Float32);
        return rows.Select((row, b) => row.Done ? 0L : Choose(probabilities[b], options, row.Generator)).ToArray();
    }

    /// <summary>Greedy at temperature 0; otherwise nucleus sampling over the smallest set with mass ≥ top_p.</summary>
    public static int Choose(Tensor logits, GenerationOptions options, Generator generator)
    {
        if (options.Temperature <= 0) return (int)logits.argmax().item<long>();
        using var scope = NewDisposeScope();
        using var temperature = options.Temperature.ToScalar();
        using var topP = options.TopP.ToScalar();
        var probabilities = logits.div(temperature).softmax(-1);
        var (sorted, order) = probabilities.sort(descending: true);
        // Keep a token while the mass before it is below top_p, so the first token always survives.
        var massBefore = sorted.cumsum(0) - sorted;
        var kept = sorted.masked_fill(massBefore.ge(topP), TorchScalars.Zero);
        var pick = multinomial(kept / kept.sum(), 1, generator: generator);
        return (int)order[pick].item<long>();
    }
}
