using System.Reflection;
using System.Text.Json;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Tokenization;

/// <summary>
/// The reference ids in Fixtures/reference-ids.json were made once by the packages' own JavaScript tokenizers
/// (tests/fixtures/tokenizers/make-reference-ids.js). The tokenizer.json files are fetched into .cache/tokenizers by the
/// build (build/ReferenceTokenizers.targets).
/// </summary>
public static class ReferenceTokenizers
{
    public static string CacheDirectory =>
        typeof(ReferenceTokenizers).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ReferenceTokenizerCache").Value!;

    public static TextTokenizer Load(string name) => TextTokenizer.Load(Path.Combine(CacheDirectory, name, "tokenizer.json"));

    public static (string[] Texts, int[][] Ids) References(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Tokenization", "Fixtures", "reference-ids.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        string[] texts = root.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
        int[][] ids = root.GetProperty(name).GetProperty("ids").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(id => id.GetInt32()).ToArray()).ToArray();
        return (texts, ids);
    }
}

public sealed class Llama3TokenizerFixture
{
    public TextTokenizer Tokenizer { get; } = ReferenceTokenizers.Load("llama3");
}

public sealed class Qwen3TokenizerFixture
{
    public TextTokenizer Tokenizer { get; } = ReferenceTokenizers.Load("qwen3");
}

public sealed class Llama3TokenizerTests(Llama3TokenizerFixture fixture) : IClassFixture<Llama3TokenizerFixture>
{
    [Fact]
    public void Ids_equal_the_reference_tokenizer() => ReferenceAssertions.IdsEqualReferences(fixture.Tokenizer, "llama3");

    [Fact]
    public void Decode_inverts_encode() => ReferenceAssertions.DecodeInvertsEncode(fixture.Tokenizer, "llama3", nfc: false);

    [Fact]
    public void Special_tokens_and_sizes_are_recognised()
    {
        var tokenizer = fixture.Tokenizer;
        Assert.Equal(128256, tokenizer.VocabSize);
        Assert.Equal(128000, tokenizer.BosTokenId);
        Assert.Equal(128001, tokenizer.EosTokenId);
        Assert.Null(tokenizer.PadTokenId);
        Assert.Equal(128000, tokenizer.TokenId("<|begin_of_text|>"));
        Assert.Equal(new[] { 128001 }, tokenizer.Encode("<|end_of_text|>"));
        Assert.Equal("hi", tokenizer.Decode([128000, .. tokenizer.Encode("hi")], skipSpecialTokens: true));
        Assert.Equal("<|begin_of_text|>hi", tokenizer.Decode([128000, .. tokenizer.Encode("hi")]));
    }
}

public sealed class Qwen3TokenizerTests(Qwen3TokenizerFixture fixture) : IClassFixture<Qwen3TokenizerFixture>
{
    [Fact]
    public void Ids_equal_the_reference_tokenizer() => ReferenceAssertions.IdsEqualReferences(fixture.Tokenizer, "qwen3");

    [Fact]
    public void Decode_inverts_encode_up_to_nfc() => ReferenceAssertions.DecodeInvertsEncode(fixture.Tokenizer, "qwen3", nfc: true);

    [Fact]
    public void Nfc_normalisation_merges_a_decomposed_accent()
    {
        var tokenizer = fixture.Tokenizer;
        Assert.True(tokenizer.Model.NormalizeNfc);
        Assert.Equal(tokenizer.Encode("caf\u00e9"), tokenizer.Encode("cafe\u0301"));
        Assert.Equal(151643, tokenizer.EosTokenId);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal(151669, tokenizer.VocabSize);
    }
}

static class ReferenceAssertions
{
    public static void IdsEqualReferences(TextTokenizer tokenizer, string name)
    {
        var (texts, ids) = ReferenceTokenizers.References(name);
        Assert.True(texts.Length >= 15, "the fixture should hold the whole varied text set");
        for (int i = 0; i < texts.Length; i++)
            Assert.True(ids[i].SequenceEqual(tokenizer.Encode(texts[i])),
                $"{name} text {i} {JsonSerializer.Serialize(texts[i])}: expected [{string.Join(",", ids[i])}], " +
                $"got [{string.Join(",", tokenizer.Encode(texts[i]))}]");
    }

    public static void DecodeInvertsEncode(TextTokenizer tokenizer, string name, bool nfc)
    {
        foreach (string text in ReferenceTokenizers.References(name).Texts)
        {
            string expected = nfc ? text.Normalize(System.Text.NormalizationForm.FormC) : text;
            Assert.Equal(expected, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }
}
