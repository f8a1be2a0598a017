using System.IO.Compression;
using System.Text;
using System.Text.Json;
using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class CorpusSourcesTests
{
    [Fact]
    public void WordNet_synset_line_gives_one_sense_per_word_with_examples()
    {
        var senses = WordNetReader.ParseSynset(
            "00001740 03 a 02 able(a) 0 capable 1 001 ! 00002098 a 0101 | having the necessary means; \"able to swim\"; \"she was able to program\"  ",
            "test").ToList();
        Assert.Equal(["able", "capable"], senses.Select(s => s.Word));
        Assert.All(senses, s => Assert.Equal("having the necessary means", s.Definition));
        Assert.Equal(["able to swim", "she was able to program"], senses[0].Examples);
    }

    [Fact]
    public void WordNet_multiword_entries_use_spaces()
    {
        var sense = WordNetReader.ParseSynset("00002137 03 n 01 physical_entity 0 000 | an entity that has physical existence", "t").Single();
        Assert.Equal("physical entity", sense.Word);
    }

    static string DictdNumber(long value)
    {
        const string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var text = new StringBuilder();
        do { text.Insert(0, digits[(int)(value % 64)]); value /= 64; } while (value > 0);
        return text.ToString();
    }

    /// <summary>A two-entry dictd dictionary (gzip text + base-64 index) written the way dict-gcide ships it.</summary>
    static (string Dict, string Index) TinyGcide(TempDirectory dir)
    {
        string[] entries =
        [
            "00-database-short\n   A test dictionary\n",
            "Zorble \\Zor\"ble\\ (z[o^]r\"b'l), n. [Invented.]\n   1. A small {round} stone used in the game of [ae]ther.\n      [1913 Webster]\n\n            He threw the zorble. --Anon.\n      [1913 Webster]\n\n   2. (Zool.) An old kind of beetle. [Obs.]\n      [1913 Webster]\n",
            "Quib \\Quib\\, v. i.\n   To speak lightly.\n   [PJC]\n",
        ];
        var text = new StringBuilder();
        var index = new StringBuilder();
        foreach (string entry in entries)
        {
            int offset = Encoding.UTF8.GetByteCount(text.ToString());
            string head = entry.Split([' ', '\n'])[0];
            index.Append($"{head}\t{DictdNumber(offset)}\t{DictdNumber(Encoding.UTF8.GetByteCount(entry))}\n");
            text.Append(entry);
        }
        string dict = dir.File("gcide.dict.dz"), indexPath = dir.File("gcide.index");
        using (var gzip = new GZipStream(File.Create(dict), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes(text.ToString()));
        File.WriteAllText(indexPath, index.ToString());
        return (dict, indexPath);
    }

    [Fact]
    public void Gcide_entries_become_plain_text_and_numbered_senses()
    {
        using var dir = new TempDirectory();
        var (dict, index) = TinyGcide(dir);
        var entries = GcideReader.ReadEntries(dict, index).ToList();
        Assert.Equal(["Zorble", "Quib"], entries.Select(e => e.Headword));

        string plain = GcideReader.PlainText(entries[0]);
        Assert.StartsWith("Zorble, n. [Invented.] 1. A small round stone used in the game of aether.", plain);
        Assert.DoesNotContain("Webster", plain);
        Assert.DoesNotContain("\\", plain);
        Assert.Contains("He threw the zorble. --Anon.", plain);

        var senses = GcideReader.Senses(entries[0]).ToList();
        Assert.Equal(["A small round stone used in the game of aether"], senses.Select(s => s.Definition)); // sense 2 is obsolete
        Assert.Empty(GcideReader.Senses(entries[1]));
        Assert.Equal("Quib, v. i. To speak lightly.", GcideReader.PlainText(entries[1]));
    }

    [Fact]
    public void Gcide_index_past_the_end_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var (dict, index) = TinyGcide(dir);
        File.AppendAllText(index, "Broken\tzzzz\tB\n");
        var e = Assert.Throws<InvalidDataException>(() => GcideReader.ReadEntries(dict, index).ToList());
        Assert.Contains("gcide.index:4", e.Message);
        Assert.Contains("Broken", e.Message);
    }

    [Fact]
    public void Fortune_separators_become_blank_lines_and_overstrikes_resolve() =>
        Assert.Equal("First saying.\n\nSecond\n\n", CorpusBuilder.FortuneText("First saying.\n%\nS_\becond\n%\n"));

    [Fact]
    public void Corpus_writer_puts_each_document_in_one_split_with_a_manifest()
    {
        using var dir = new TempDirectory();
        var documents = Enumerable.Range(0, 60).Select(i => $"doc-{i:D2}")
            .Select(name => new CorpusDocument(name, "test", DataSplits.Assign(name), $"text of {name}\n")).ToList();
        var sizes = CorpusWriter.Write(dir.File("corpus"), documents);

        Assert.Equal(60, sizes.Values.Sum(s => s.Documents));
        foreach (var document in documents)
        {
            var holders = DataSplits.All.Where(s => File.Exists(Path.Combine(dir.Path, "corpus", s.CorpusName(), document.Name + ".txt")));
            Assert.Equal([document.Split], holders);
        }
        using var manifest = JsonDocument.Parse(File.ReadAllText(dir.File("corpus/manifest.json")));
        Assert.Equal(60, manifest.RootElement.GetProperty("documents").GetArrayLength());
        Assert.Equal(sizes[DataSplit.Train].Bytes, manifest.RootElement.GetProperty("splits").GetProperty("train").GetProperty("bytes").GetInt64());
        Assert.Equal([dir.File("corpus")], Directory.GetDirectories(dir.Path)); // no staging folder left behind
    }

    [Fact]
    public void Document_split_is_stable_and_roughly_90_5_5()
    {
        Assert.Equal(DataSplits.Assign("sotu-1790-george-washington-n"), DataSplits.Assign("sotu-1790-george-washington-n"));
        var splits = Enumerable.Range(0, 4000).Select(i => DataSplits.Assign($"d{i}")).ToList();
        Assert.InRange(splits.Count(s => s == DataSplit.Validation), 120, 280);
        Assert.InRange(splits.Count(s => s == DataSplit.Test), 120, 280);
    }

    [Fact]
    public void Normalize_uses_unix_lines_and_single_blank_lines() =>
        Assert.Equal("a\n\nb\n", CorpusBuilder.Normalize("a  \r\n\r\n\r\n\r\nb\r\n"));
}
