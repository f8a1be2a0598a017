using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Gguf;

/// <summary>
/// A byte-level BPE tokenizer.json as llama.cpp's `gpt2` tokenizer reads it: every id up to the model's vocab_size
/// with its text and type, the merges in rank order, the pre-tokenizer by the name under which llama.cpp runs the same
/// split regex (and the same merge rule), and the special ids.
/// </summary>
public static class GgufVocabulary
{
    // llama.cpp's llama_token_type (llama-vocab.h).
    public const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <summary>
    /// (split regex, ignore_merges) → llama.cpp pre-tokenizer name whose regex and merge rule are the same. The
    /// Llama-3 regex without ignore_merges is llama.cpp's `smaug-bpe` (its `llama-bpe` also takes a whole word from the
    /// vocabulary before merging, which can give other ids for a tokenizer trained with merges only).
    /// </summary>
    static readonly (string Pattern, bool IgnoreMerges, string Name)[] PreTokenizers =
    [
        (SplitPatterns.Llama3, false, "smaug-bpe"),
        (SplitPatterns.Llama3, true, "llama-bpe"),
        (SplitPatterns.Gpt2, false, "gpt-2"),
        (Qwen2Pattern, false, "qwen2"),
    ];

    /// <summary>Qwen2/Qwen3's split regex: Llama-3's with single digits.</summary>
    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static string PreTokenizerName(ByteLevelBpeModel model) =>
        PreTokenizers.FirstOrDefault(p => p.Pattern == model.SplitPattern && p.IgnoreMerges == model.IgnoreMerges).Name
        ?? throw new TokenizerFormatException(
            $"the tokenizer's split regex{(model.IgnoreMerges ? " with ignore_merges" : "")} is not one llama.cpp runs, so llama.cpp would tokenise text " +
            $"differently; supported: the Llama-3 regex (with or without ignore_merges), GPT-2's and Qwen2's. Regex: {model.SplitPattern}");

    /// <summary>The tokenizer.ggml.* metadata for a model of <paramref name="config"/> with <paramref name="tokenizer"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata(TextTokenizer tokenizer, LlamaConfig config)
    {
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ModelConfigException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {config.VocabSize}");
        string newline = ByteLevelAlphabet.CharFor((byte)'\n').ToString();
        if (tokenizer.TokenId(newline) is null)
            throw new TokenizerFormatException($"the tokenizer has no token for the newline byte ('{newline}'), which llama.cpp's byte-level BPE requires");
        string pre = PreTokenizerName(tokenizer.Model);

        var added = tokenizer.Model.AddedTokens.ToDictionary(t => t.Id);
        var tokens = new string[config.VocabSize];
        var types = new int[config.VocabSize];
        for (int id = 0; id < config.VocabSize; id++)
        {
            // Ids the tokenizer does not use (padded embedding rows) get placeholder names, as llama.cpp's converter writes.
            tokens[id] = tokenizer.Token(id) ?? $"[PAD{id}]";
            types[id] = added.TryGetValue(id, out var token) ? (token.Special ? Control : UserDefined)
                : tokenizer.Token(id) is null ? Unused : Normal;
        }
        var metadata = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.Of("gpt2")),
            new("tokenizer.ggml.pre", GgufValue.Of(pre)),
            new("tokenizer.ggml.tokens", GgufValue.Of(tokens)),
            new("tokenizer.ggml.token_type", GgufValue.Of(types)),
            new("tokenizer.ggml.merges", GgufValue.Of(tokenizer.Model.Merges.Select(m => $"{m.Left} {m.Right}").ToArray())),
        };
        int? bos = config.BosTokenId ?? tokenizer.BosTokenId;
        int? eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : tokenizer.EosTokenId;
        int? pad = config.PadTokenId ?? tokenizer.PadTokenId;
        if (bos is int b) metadata.Add(new("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)b)));
        if (eos is int e) metadata.Add(new("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)e)));
        if (pad is int p) metadata.Add(new("tokenizer.ggml.padding_token_id", GgufValue.Of((uint)p)));
        // Our prompts start with BOS (TextTokenizer.EncodeWithBos); llama.cpp adds it when told to.
        metadata.Add(new("tokenizer.ggml.add_bos_token", GgufValue.Of(bos is not null)));
        metadata.Add(new("tokenizer.ggml.add_eos_token", GgufValue.Of(false)));
        return metadata;
    }
}
