using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using PicSharp.Storage;

namespace PicSharp.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer read from (and written to) Hugging Face's tokenizer.json, encoding with
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in byte-level mode with the file's Split regex as pre-tokenizer.
/// Its ids equal those of the reference tokenizers for Llama-3 and Qwen3 files.
/// </summary>
public sealed class TextTokenizer
{
    static readonly string[] BosNames = ["<|bos|>", "<|begin_of_text|>", "<s>"];
    static readonly string[] EosNames = ["<|eos|>", "<|end_of_text|>", "<|endoftext|>", "</s>"];
    static readonly string[] PadNames = ["<|pad|>", "<pad>"];

    readonly BpeTokenizer bpe;
    readonly BpeTokenizer textBpe; // the same model without added tokens, so user text cannot spell one
    readonly Dictionary<string, int> idOfToken;
    readonly string?[] tokenOfId;
    readonly HashSet<int> specialIds;

    /// <summary>The vocabulary, merges and added tokens this tokenizer encodes with (what <see cref="Save"/> writes).</summary>
    public ByteLevelBpeModel Model { get; }

    /// <summary>Number of embedding rows a model needs: the largest id (vocabulary or added token) plus one.</summary>
    public int VocabSize => tokenOfId.Length;

    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }

    /// <summary>Builds the tokenizer; <paramref name="source"/> names the model's origin in error messages.</summary>
    public TextTokenizer(ByteLevelBpeModel model, string source = "tokenizer")
    {
        CheckIds(model, source);
        CheckMerges(model, source);
        Model = model;
        idOfToken = new Dictionary<string, int>(model.Vocabulary, StringComparer.Ordinal);
        foreach (var token in model.AddedTokens)
            idOfToken[token.Content] = token.Id;
        tokenOfId = new string?[idOfToken.Count == 0 ? 0 : idOfToken.Values.Max() + 1];
        foreach (var (token, id) in idOfToken)
            tokenOfId[id] = token;
        specialIds = model.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        var split = SplitRegex(model, source);
        bpe = CreateBpe(model, split, model.AddedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal));
        textBpe = CreateBpe(model, split, addedTokens: null);
        BosTokenId = FirstAddedTokenNamed(BosNames);
        EosTokenId = FirstAddedTokenNamed(EosNames);
        PadTokenId = FirstAddedTokenNamed(PadNames);
    }

    /// <summary>Reads a tokenizer.json; unsupported tokenizer kinds are a <see cref="TokenizerFormatException"/>.</summary>
    public static TextTokenizer Load(string path) => new(TokenizerJson.Read(path), path);

    /// <summary>Writes a standard tokenizer.json (temp file, then rename: never a half-written file).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, TokenizerJson.Write(Model));

    /// <summary>Token ids of <paramref name="text"/> as Hugging Face's tokenizer gives them: no BOS/EOS is added, and
    /// added tokens spelled out in the text (`&lt;|eos|&gt;`) become their ids. For inspecting a tokenizer; text that
    /// a model reads goes through <see cref="EncodeText"/>.</summary>
    public IReadOnlyList<int> Encode(string text) => bpe.EncodeToIds(text);

    /// <summary>
    /// Token ids of documents, questions, prompts and training text: added tokens typed in the text (`&lt;|eos|&gt;`,
    /// `&lt;|bos|&gt;`) are plain characters, so a document cannot end generation or inject control tokens; special
    /// ids come only from the code that adds them. Text without added tokens gets the ids of <see cref="Encode"/>.
    /// </summary>
    public IReadOnlyList<int> EncodeText(string text) => textBpe.EncodeToIds(text);

    /// <summary>
    /// The ids a model reads for <paramref name="text"/>: a BOS token first (<paramref name="bosTokenId"/>, else this
    /// tokenizer's; none when neither exists), as HF Llama tokenizers add it, then the ids of <see cref="EncodeText"/>.
    /// Generation, perplexity, QA evaluation and pretraining all start this way, so training and inference agree.
    /// </summary>
    public IReadOnlyList<int> EncodeWithBos(string text, int? bosTokenId = null) =>
        (bosTokenId ?? BosTokenId) is int bos ? [bos, .. EncodeText(text)] : EncodeText(text);

    /// <summary>The text of <paramref name="ids"/>; special tokens are written out unless <paramref name="skipSpecialTokens"/>.</summary>
    /// <param name="skipIdsWithoutText">decode ids that have no token (beyond the vocabulary or in a gap) to nothing
    /// instead of failing: a model's vocab_size may exceed its tokenizer's (padded embedding rows), and what it
    /// generates may use those rows.</param>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool skipIdsWithoutText = false)
    {
        var kept = new List<int>();
        foreach (int id in ids)
        {
            if (Token(id) is null)
            {
                if (skipIdsWithoutText) continue;
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is not in the vocabulary (size {VocabSize})");
            }
            if (!(skipSpecialTokens && specialIds.Contains(id)))
                kept.Add(id);
        }
        return bpe.Decode(kept, considerSpecialTokens: true);
    }

    /// <summary>The id of a vocabulary entry (byte-level spelling, e.g. "Ġthe") or added token, if there is one.</summary>
    public int? TokenId(string token) => idOfToken.TryGetValue(token, out int id) ? id : null;

    /// <summary>The vocabulary entry or added token of <paramref name="id"/>, if there is one.</summary>
    public string? Token(int id) => id >= 0 && id < tokenOfId.Length ? tokenOfId[id] : null;

    int? FirstAddedTokenNamed(string[] names)
    {
        foreach (string name in names)
            foreach (var token in Model.AddedTokens)
                if (token.Content == name)
                    return token.Id;
        return null;
    }

    /// <summary>One token per id: a second token on an id would make decoding ambiguous (an added token may repeat its own
    /// vocabulary entry, as HF files do for special tokens).</summary>
    static void CheckIds(ByteLevelBpeModel model, string source)
    {
        var tokenOf = new Dictionary<int, (string Token, string Where)>();
        var entries = model.Vocabulary.Select(e => (e.Key, e.Value, Where: "model.vocab"))
            .Concat(model.AddedTokens.Select(t => (t.Content, t.Id, Where: "added_tokens")));
        foreach (var (token, id, where) in entries)
        {
            if (tokenOf.TryGetValue(id, out var first) && first.Token != token)
                throw new TokenizerFormatException($"{source}: id {id} is given twice, to \"{first.Token}\" ({first.Where}) and to \"{token}\" ({where})");
            tokenOf.TryAdd(id, (token, where));
        }
    }

    /// <summary>Both halves of every merge and their concatenation must be vocabulary tokens (HF refuses such files too).</summary>
    static void CheckMerges(ByteLevelBpeModel model, string source)
    {
        for (int i = 0; i < model.Merges.Count; i++)
        {
            var (left, right) = model.Merges[i];
            foreach (string token in new[] { left, right, left + right })
                if (!model.Vocabulary.ContainsKey(token))
                    throw new TokenizerFormatException(
                        $"{source}: model.merges[{i}] (\"{left}\" + \"{right}\") needs \"{token}\", which is not in model.vocab");
        }
    }

    static Regex SplitRegex(ByteLevelBpeModel model, string source)
    {
        foreach (var (left, right) in model.Merges)
            if (left.Contains(' ') || right.Contains(' '))
                throw new TokenizerFormatException($"{source}: merge ({left}, {right}) contains a space, which byte-level BPE never has");
        try
        {
            return new Regex(model.SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException($"{source}: pre_tokenizer Split regex is not usable in .NET ({e.Message})");
        }
    }

    static BpeTokenizer CreateBpe(ByteLevelBpeModel model, Regex split, Dictionary<string, int>? addedTokens) =>
        BpeTokenizer.Create(new BpeOptions(model.Vocabulary)
        {
            Merges = model.Merges.Select(merge => $"{merge.Left} {merge.Right}"),
            SpecialTokens = addedTokens,
            PreTokenizer = new RegexPreTokenizer(split, addedTokens),
            Normalizer = model.NormalizeNfc ? NfcNormalizer.Instance : null,
            ByteLevel = true,
        });
}
