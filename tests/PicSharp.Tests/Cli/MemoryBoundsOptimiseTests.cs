using System.Text.Json;
using PicSharp.Data;

namespace PicSharp.Tests.Cli;

/// <summary>`pic memory-bounds --optimise` on a tiny model folder: it fits memory to each passage and answers from it.</summary>
public sealed class MemoryBoundsOptimiseTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-optimise-").FullName;
    readonly string modelDir, qaPath;

    public MemoryBoundsOptimiseTests()
    {
        modelDir = TinyModelFolder.Create(root, Enumerable.Range(0, 20).Select(i => $"Ada lives in Paris {i}. Where does Ada live? Bo lives in Rome."),
            TinyModels.Config() with { VocabSize = 300, BosTokenId = null, InitializerRange = 0.25 });
        qaPath = Path.Combine(root, "qa.json");
        new SquadDataset([
            new SquadExample("a", "t", "Ada lives in Paris. Bo lives in Rome.", "Where does Ada live?", [new SquadAnswer("Paris", 13)]),
            new SquadExample("b", "t", "Ada lives in Paris. Bo lives in Rome.", "Where does Bo live?", [new SquadAnswer("Rome", 32)]),
            new SquadExample("c", "t", "Bo lives in Rome 7. Ada lives in Paris 3.", "Where does Bo live?", [new SquadAnswer("Rome 7", 12)]),
        ]).Save(qaPath);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Fitting_memory_raises_reconstruction_and_the_report_names_every_ratio()
    {
        string json = Path.Combine(root, "fit.json");
        var result = PicCli.Run("memory-bounds", "--optimise", "--model", modelDir, "--qa", qaPath, "--ratios", "2,4", "--steps", "40",
            "--lr", "0.1", "--threads", "1", "--json", json);
        Assert.Equal(0, result.ExitCode);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(2, report.RootElement.GetProperty("passages").GetInt32());
        Assert.Equal(3, report.RootElement.GetProperty("questions").GetInt32());
        var ratios = report.RootElement.GetProperty("ratios").EnumerateArray().ToList();
        Assert.Equal([2, 4], ratios.Select(r => r.GetProperty("ratio").GetInt32()));
        foreach (var r in ratios)
        {
            // A random decoder guesses a few tokens; vectors fitted to the passage make it reconstruct more of it.
            double start = r.GetProperty("reconstruction_start").GetProperty("loss").GetDouble();
            double end = r.GetProperty("reconstruction").GetProperty("loss").GetDouble();
            Assert.True(end < start - 0.5, $"ratio {r.GetProperty("ratio")}: loss {start} -> {end}");
            Assert.InRange(r.GetProperty("from_memory").GetProperty("f1").GetDouble(), 0, 1);
        }
        Assert.Contains("| 2x |", result.Output);
    }

    [Theory]
    [InlineData("--passages", "1", "--passages must be at least 2")]
    [InlineData("--ratios", "4,x", "--ratios must be positive integers")]
    [InlineData("--steps", "-1", "steps must be ≥ 0")]
    public void Bad_settings_are_refused_in_one_line(string option, string value, string message)
    {
        var result = PicCli.Run("memory-bounds", "--optimise", "--model", modelDir, "--qa", qaPath, option, value, "--threads", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public void Optimise_without_passages_says_what_it_needs()
    {
        var result = PicCli.Run("memory-bounds", "--optimise", "--model", modelDir, "--threads", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--optimise needs --qa FILE", result.Error);
    }
}
