namespace PicSharp.Tokenization;

/// <summary>A token matched verbatim in the text before BPE runs (tokenizer.json's added_tokens).</summary>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// Everything of a byte-level BPE tokenizer.json that encoding and decoding depend on. Vocabulary and merges are in the
/// byte-level alphabet (<see cref="ByteLevelAlphabet"/>); added tokens are plain text.
/// </summary>
public sealed record ByteLevelBpeModel(
    IReadOnlyDictionary<string, int> Vocabulary,
    IReadOnlyList<(string Left, string Right)> Merges,
    IReadOnlyList<AddedToken> AddedTokens,
    string SplitPattern,
    bool NormalizeNfc,
    bool IgnoreMerges = false);

/// <summary>Pre-tokenizing regular expressions of well-known byte-level BPE tokenizers.</summary>
public static class SplitPatterns
{
    /// <summary>GPT-2's pattern (tokenizer.json: ByteLevel pre-tokenizer with use_regex).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// The Llama-3 / GPT-4 (cl100k) pattern: case-insensitive contractions, one leading non-letter glued to a word,
    /// numbers in groups of at most three digits, punctuation runs with their trailing newlines.
    /// </summary>
    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
