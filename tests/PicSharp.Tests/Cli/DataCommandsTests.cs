using PicSharp.Data;
using PicSharp.Tests.Data;

namespace PicSharp.Tests.Cli;

public class DataCommandsTests
{
    [Fact]
    public void Data_qa_writes_reading_spans_and_held_out_sets()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "corpus", "test"));
        File.WriteAllText(Path.Combine(dir.Path, "corpus", "test", "a.txt"), string.Join(" ", Enumerable.Range(0, 80).Select(i =>
            $"Sentence number {i} tells of lantern {i * 7 % 13} and river {i * 5 % 11}, then of meadow {i}.")));
        foreach (var kind in new[] { "reading", "spans", "heldout" })
        {
            string path = dir.File(kind + ".json");
            var result = PicCli.Run("data", "qa", "--kind", kind, "--split", "test", "--count", "12", "--seed", "3",
                "--min-tokens", "60", "--max-tokens", "300", "--questions-per-context", "3", "--data-dir", dir.Path, "--out", path);
            Assert.True(result.ExitCode == 0, result.Error);
            var examples = SquadDataset.Load(path).Examples; // Load checks every answer span
            Assert.Equal(12, examples.Count);
            Assert.Equal(4, examples.Select(e => e.Context).Distinct().Count());
        }
    }

    [Fact]
    public void Data_qa_refuses_a_held_out_training_set_in_one_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("heldout.json");
        var result = PicCli.Run("data", "qa", "--kind", "heldout", "--split", "train", "--out", path);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("pic data qa: ", result.Error);
        Assert.Contains("dev and test sets only", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.False(File.Exists(path));
    }
}
