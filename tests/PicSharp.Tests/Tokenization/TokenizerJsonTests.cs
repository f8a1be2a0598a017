using System.Text.Json.Nodes;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Tokenization;

public sealed class TokenizerJsonTests
{
    /// <summary>A tiny byte-level BPE file in Hugging Face's layout: bytes, three merges, one special token.</summary>
    static JsonObject TinyTokenizerJson(bool mergesAsPairs = false)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
            vocab[ByteLevelAlphabet.CharFor((byte)b).ToString()] = b;
        vocab["he"] = 256;
        vocab["ll"] = 257;
        vocab["hell"] = 258;
        (string, string)[] merges = [("h", "e"), ("l", "l"), ("he", "ll")];
        var mergeArray = new JsonArray(merges.Select(m => mergesAsPairs
            ? (JsonNode)new JsonArray(m.Item1, m.Item2)
            : JsonValue.Create($"{m.Item1} {m.Item2}")).ToArray());
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 259, ["content"] = "<|eos|>", ["special"] = true }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = SplitPatterns.Llama3 }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = mergeArray },
        };
    }

    static TextTokenizer LoadJson(JsonNode json, out string path, TemporaryDirectory directory)
    {
        path = Path.Combine(directory.Path, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        return TextTokenizer.Load(path);
    }

    static TokenizerFormatException LoadFails(Action<JsonObject> change, out string path)
    {
        var json = TinyTokenizerJson();
        change(json);
        using var directory = new TemporaryDirectory();
        string file = Path.Combine(directory.Path, "tokenizer.json");
        path = file;
        File.WriteAllText(file, json.ToJsonString());
        return Assert.Throws<TokenizerFormatException>(() => TextTokenizer.Load(file));
    }

    [Fact]
    public void Text_encodes_added_tokens_typed_in_it_as_plain_characters()
    {
        using var directory = new TemporaryDirectory();
        var tokenizer = LoadJson(TinyTokenizerJson(), out _, directory);

        Assert.Equal([258, 111], tokenizer.EncodeText("hello")); // as Encode for text without added tokens
        var ids = tokenizer.EncodeText("hell<|eos|>");
        Assert.Equal([258, .. "<|eos|>".Select(c => (int)c)], ids); // bytes, not id 259
        Assert.Equal("hell<|eos|>", tokenizer.Decode(ids));
        Assert.Equal([259, 259], tokenizer.EncodeWithBos("", bosTokenId: 259).Concat(tokenizer.Encode("<|eos|>"))); // our ids stay ours
        Assert.DoesNotContain(259, tokenizer.EncodeWithBos("<|eos|>", bosTokenId: 1));
    }

    [Fact]
    public void Merges_as_strings_and_as_pairs_encode_alike()
    {
        using var directory = new TemporaryDirectory();
        var fromStrings = LoadJson(TinyTokenizerJson(), out _, directory);
        var fromPairs = LoadJson(TinyTokenizerJson(mergesAsPairs: true), out _, directory);

        Assert.Equal([258, (int)'o'], fromStrings.Encode("hello"));
        Assert.Equal(fromStrings.Encode("hello hell<|eos|>"), fromPairs.Encode("hello hell<|eos|>"));
        Assert.Equal([258, 111, 32, 258, 259], fromPairs.Encode("hello hell<|eos|>"));
        Assert.Equal(260, fromPairs.VocabSize);
        Assert.Equal(259, fromPairs.EosTokenId);
        Assert.Equal(257, fromPairs.TokenId("ll"));
        Assert.Null(fromPairs.TokenId("xyz"));
    }

    [Fact]
    public void Gpt2_style_lone_byte_level_pre_tokenizer_uses_the_gpt2_pattern()
    {
        var json = TinyTokenizerJson();
        json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };
        using var directory = new TemporaryDirectory();

        var tokenizer = LoadJson(json, out _, directory);

        Assert.Equal(SplitPatterns.Gpt2, tokenizer.Model.SplitPattern);
    }

    [Fact]
    public void WordPiece_model_is_refused_naming_the_file_and_field()
    {
        var error = LoadFails(json => json["model"] = new JsonObject
        {
            ["type"] = "WordPiece",
            ["unk_token"] = "[UNK]",
            ["vocab"] = new JsonObject { ["[UNK]"] = 0, ["hello"] = 1 },
        }, out string path);

        Assert.Contains(path, error.Message);
        Assert.Contains("model.type \"WordPiece\" is not supported", error.Message);
    }

    [Fact]
    public void Unigram_model_is_refused() =>
        Assert.Contains("model.type \"Unigram\"", LoadFails(json => json["model"]!["type"] = "Unigram", out _).Message);

    [Fact]
    public void Non_byte_level_bpe_is_refused() =>
        Assert.Contains("pre_tokenizer", LoadFails(json => json["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }, out _).Message);

    [Fact]
    public void Byte_fallback_bpe_is_refused() =>
        Assert.Contains("model.byte_fallback", LoadFails(json => json["model"]!["byte_fallback"] = true, out _).Message);

    [Fact]
    public void Unsupported_normalizer_is_refused() =>
        Assert.Contains("normalizer.type \"Lowercase\"",
            LoadFails(json => json["normalizer"] = new JsonObject { ["type"] = "Lowercase" }, out _).Message);

    [Fact]
    public void Malformed_merge_is_refused_with_its_index() =>
        Assert.Contains("model.merges[1]", LoadFails(json => json["model"]!["merges"]![1] = "l l l", out _).Message);

    [Fact]
    public void Merge_naming_a_token_outside_the_vocabulary_is_refused_naming_the_file_and_merge()
    {
        var refused = LoadFails(json => json["model"]!["merges"]!.AsArray().Add("he zz"), out string path);
        Assert.Contains(path, refused.Message);
        Assert.Contains("merges[3]", refused.Message);
        Assert.Contains("zz", refused.Message);
    }

    [Fact]
    public void Merge_whose_result_is_not_in_the_vocabulary_is_refused()
    {
        var refused = LoadFails(json => json["model"]!["merges"]!.AsArray().Add("ll he"), out string path);
        Assert.Contains(path, refused.Message);
        Assert.Contains("\"llhe\"", refused.Message);
    }

    [Fact]
    public void Two_tokens_with_one_id_are_refused_naming_the_file_and_both_tokens()
    {
        var inVocab = LoadFails(json => json["model"]!["vocab"]!["hel"] = 256, out string path);
        Assert.Contains(path, inVocab.Message);
        Assert.Contains("id 256", inVocab.Message);
        Assert.Contains("\"he\"", inVocab.Message);
        Assert.Contains("\"hel\"", inVocab.Message);

        var added = LoadFails(json => json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 259, ["content"] = "<|pad|>", ["special"] = true }), out path);
        Assert.Contains(path, added.Message);
        Assert.Contains("id 259", added.Message);
    }

    [Fact]
    public void Invalid_json_is_refused()
    {
        using var directory = new TemporaryDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": ");

        var error = Assert.Throws<TokenizerFormatException>(() => TextTokenizer.Load(path));

        Assert.Contains("not valid JSON", error.Message);
    }

    [Fact]
    public void Unknown_id_cannot_be_decoded()
    {
        using var directory = new TemporaryDirectory();
        var tokenizer = LoadJson(TinyTokenizerJson(), out _, directory);

        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, 260]));
        // A model with padded embedding rows may generate such an id; on request it decodes to nothing.
        Assert.Equal(tokenizer.Decode([1, 2]), tokenizer.Decode([1, 260, 2, -1], skipIdsWithoutText: true));
    }

    [Fact]
    public void Save_replaces_an_existing_file_and_round_trips()
    {
        using var directory = new TemporaryDirectory();
        var tokenizer = LoadJson(TinyTokenizerJson(mergesAsPairs: true), out string path, directory);

        tokenizer.Save(path);
        var reloaded = TextTokenizer.Load(path);

        Assert.Equal(tokenizer.Model.Merges, reloaded.Model.Merges);
        Assert.Equal(tokenizer.Model.Vocabulary, reloaded.Model.Vocabulary);
        Assert.Equal(tokenizer.Model.AddedTokens, reloaded.Model.AddedTokens);
        Assert.Equal([path], Directory.GetFiles(directory.Path));
    }
}
