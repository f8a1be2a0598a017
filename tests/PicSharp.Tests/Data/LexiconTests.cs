using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class LexiconTests
{
    [Fact]
    public void Group_merges_sources_case_insensitively_and_keeps_first_spelling()
    {
        var entries = Lexicon.Group([
            new WordSense("apple", "a round fruit", [], "wordnet"),
            new WordSense("Apple", "a round fruit", [], "gcide"),
            new WordSense("Apple", "the tree bearing apples", [], "gcide"),
            new WordSense("zest", "lively enjoyment", [], "wordnet"),
        ]);
        Assert.Equal(["apple", "zest"], entries.Select(e => e.Word));
        Assert.Equal(["a round fruit", "the tree bearing apples"], entries[0].Definitions);
    }

    [Fact]
    public void Save_then_load_round_trips()
    {
        using var dir = new TempDirectory();
        string path = dir.File("lexicon/train.jsonl");
        LexiconEntry[] entries = [new("apple", ["a round fruit", "a \"quoted\" sense"]), new("zest", ["lively enjoyment"])];
        Lexicon.Save(path, entries);
        var loaded = Lexicon.Load(path);
        Assert.Equal(entries.Select(e => e.Word), loaded.Select(e => e.Word));
        Assert.Equal(entries[0].Definitions, loaded[0].Definitions);
    }

    [Fact]
    public void Bad_lines_are_named_by_line_number()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.jsonl");
        File.WriteAllText(path, "{\"word\":\"a\",\"definitions\":[\"x\"]}\n{\"word\":\"b\",\"definitions\":[]}\n");
        var e = Assert.Throws<InvalidDataException>(() => Lexicon.Load(path));
        Assert.Contains(path + ":2", e.Message);
    }
}
