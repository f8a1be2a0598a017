using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Tokenization;

public sealed class BpeTrainerTests
{
    static readonly BpeTrainerOptions NoSpecials = new() { SpecialTokens = [], MinFrequency = 1 };

    [Fact]
    public void Merges_follow_pair_counts_with_ties_to_the_smaller_pair()
    {
        // Pieces: "ab" ×1, " ab" ×2, " cd" ×1. (a,b) occurs 3 times, then (Ġ,ab) twice; (Ġ,c) and (c,d) tie at one
        // and Ġ (byte 32) sorts before c (byte 99).
        var tokenizer = BpeTrainer.Train(["ab ab ab cd"], NoSpecials with { VocabSize = 256 + 4 });

        Assert.Equal([("a", "b"), ("Ġ", "ab"), ("Ġ", "c"), ("Ġc", "d")], tokenizer.Model.Merges);
        Assert.Equal(260, tokenizer.VocabSize);
        Assert.Equal([256, 257, 257, 259], tokenizer.Encode("ab ab ab cd"));
    }

    [Fact]
    public void Min_frequency_stops_training_early()
    {
        var tokenizer = BpeTrainer.Train(["ab ab ab cd"], NoSpecials with { VocabSize = 1000, MinFrequency = 2 });

        Assert.Equal([("a", "b"), ("Ġ", "ab")], tokenizer.Model.Merges);
    }

    [Fact]
    public void Repeated_symbols_merge_left_to_right()
    {
        var tokenizer = BpeTrainer.Train(["aaaa"], NoSpecials with { VocabSize = 256 + 2 });

        Assert.Equal([("a", "a"), ("aa", "aa")], tokenizer.Model.Merges);
        Assert.Equal([257], tokenizer.Encode("aaaa"));
    }

    [Fact]
    public void Incremental_pair_counts_equal_recounting_every_step()
    {
        string[] texts = SyntheticCorpus(seed: 7, documents: 40);
        var options = NoSpecials with { VocabSize = 256 + 150, MinFrequency = 2 };

        var trained = BpeTrainer.Train(texts, options);

        Assert.Equal(RecountingTrainer.Merges(texts, 150, minFrequency: 2), trained.Model.Merges);
    }

    [Fact]
    public void Training_is_deterministic()
    {
        string[] texts = SyntheticCorpus(seed: 3, documents: 30);
        var options = new BpeTrainerOptions { VocabSize = 500 };

        Assert.Equal(BpeTrainer.Train(texts, options).Model.Merges, BpeTrainer.Train(texts.Reverse(), options).Model.Merges);
    }

    [Fact]
    public void Saved_tokenizer_loads_with_the_same_ids()
    {
        var trained = BpeTrainer.Train(SyntheticCorpus(seed: 1, documents: 60), new BpeTrainerOptions { VocabSize = 600 });
        using var directory = new TemporaryDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");

        trained.Save(path);
        var loaded = TextTokenizer.Load(path);

        Assert.Equal(600, trained.VocabSize);
        Assert.Equal(600, loaded.VocabSize);
        foreach (string text in SyntheticCorpus(seed: 99, documents: 10).Append(UnusualText))
        {
            var ids = trained.Encode(text);
            Assert.Equal(ids, loaded.Encode(text));
            Assert.Equal(text, loaded.Decode(ids));
        }
        Assert.Equal((597, 598, 599), (loaded.BosTokenId, loaded.EosTokenId, loaded.PadTokenId));
        Assert.Equal([598], loaded.Encode("<|eos|>"));
        Assert.Equal("hello", loaded.Decode([597, .. loaded.Encode("hello"), 598, 599], skipSpecialTokens: true));
    }

    [Fact]
    public void Saved_file_is_a_standard_byte_level_tokenizer_json()
    {
        var trained = BpeTrainer.Train(SyntheticCorpus(seed: 2, documents: 20), new BpeTrainerOptions { VocabSize = 400 });
        using var directory = new TemporaryDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        trained.Save(path);

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        Assert.Equal("BPE", root.GetProperty("model").GetProperty("type").GetString());
        Assert.Equal(397, root.GetProperty("model").GetProperty("vocab").EnumerateObject().Count());
        var steps = root.GetProperty("pre_tokenizer").GetProperty("pretokenizers");
        Assert.Equal(SplitPatterns.Llama3, steps[0].GetProperty("pattern").GetProperty("Regex").GetString());
        Assert.Equal("ByteLevel", steps[1].GetProperty("type").GetString());
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        var added = root.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(["<|bos|>", "<|eos|>", "<|pad|>"], added.Select(t => t.GetProperty("content").GetString()));
        Assert.All(added, t => Assert.True(t.GetProperty("special").GetBoolean()));
        Assert.Equal([path], Directory.GetFiles(directory.Path));
    }

    [Fact]
    public void Vocabulary_smaller_than_the_byte_alphabet_is_refused()
    {
        var error = Assert.Throws<InvalidInputException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { VocabSize = 258 }));
        Assert.Contains("VocabSize 258", error.Message);
    }

    const string UnusualText = "Zürich café\n\n  spaces\t\ttabs 12345 東京 🎉 <|bos|>";

    /// <summary>Word-like text with repeats (so pairs recur), digits, punctuation, accents and whitespace runs.</summary>
    internal static string[] SyntheticCorpus(int seed, int documents)
    {
        var random = new Random(seed);
        string[] syllables = ["ka", "lo", "mi", "ren", "ta", "s", "é", "the", "and", "ing", "qu", "zu", "東", "ö"];
        string[] separators = [" ", " ", " ", ", ", ". ", "\n", "  ", "\n\n", " 42 ", "'s ", " (", ") "];
        return Enumerable.Range(0, documents).Select(_ =>
        {
            var text = new StringBuilder();
            for (int w = 0; w < 60; w++)
            {
                int length = random.Next(1, 4);
                for (int s = 0; s < length; s++)
                    text.Append(syllables[random.Next(syllables.Length)]);
                text.Append(separators[random.Next(separators.Length)]);
            }
            return text.ToString();
        }).ToArray();
    }

    /// <summary>The textbook loop: recount every pair of every word before each merge (slow, obviously right).</summary>
    static class RecountingTrainer
    {
        public static List<(string, string)> Merges(IEnumerable<string> texts, int mergeCount, int minFrequency)
        {
            var counts = new Dictionary<string, long>();
            var split = new Regex(SplitPatterns.Llama3);
            foreach (string text in texts)
                foreach (Match match in split.Matches(text))
                    counts[match.Value] = counts.GetValueOrDefault(match.Value) + 1;
            var words = counts.Select(entry => (Symbols: Encoding.UTF8.GetBytes(entry.Key).Select(b => ByteLevelAlphabet.CharFor(b).ToString()).ToList(),
                Count: entry.Value)).ToList();
            var idOf = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.CharFor((byte)b).ToString(), b => b);
            var merges = new List<(string, string)>();
            while (merges.Count < mergeCount)
            {
                var pairs = new Dictionary<(string, string), long>();
                foreach (var (symbols, count) in words)
                    for (int i = 0; i + 1 < symbols.Count; i++)
                        pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
                if (pairs.Count == 0)
                    break;
                var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => idOf[p.Key.Item1]).ThenBy(p => idOf[p.Key.Item2]).First();
                if (best.Value < minFrequency)
                    break;
                var (left, right) = best.Key;
                merges.Add((left, right));
                idOf.TryAdd(left + right, idOf.Count);
                foreach (var (symbols, _) in words)
                    for (int i = 0; i + 1 < symbols.Count; i++)
                        if (symbols[i] == left && symbols[i + 1] == right)
                        {
                            symbols[i] = left + right;
                            symbols.RemoveAt(i + 1);
                        }
            }
            return merges;
        }
    }
}

sealed class TemporaryDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("picsharp-tok-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
