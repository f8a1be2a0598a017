using PicSharp.Data;

namespace PicSharp.Tests.Cli;

/// <summary>`pic eval-lm` on a tiny model folder: the checks that come before (and instead of) a whole evaluation.</summary>
public sealed class EvalLmCommandTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-eval-").FullName;
    readonly string modelDir, qaPath;

    public EvalLmCommandTests()
    {
        modelDir = TinyModelFolder.Create(root, Enumerable.Range(0, 20).Select(i => $"Ada lives in Paris {i}. Where does Ada live?"));
        qaPath = Path.Combine(root, "qa.json");
        new SquadDataset([
            new SquadExample("a", "t", "Ada lives in Paris.", "Where does Ada live?", [new SquadAnswer("Paris", 13)]),
            new SquadExample("b", "t", "Bo lives in Rome.", "Where does Bo live?", [new SquadAnswer("Rome", 12)]),
        ]).Save(qaPath);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    PicCli.Result EvalLm(params string[] extra) =>
        PicCli.Run(["eval-lm", .. PicCli.WithDefaults(["--model", modelDir, "--qa", qaPath, "--max-new-tokens", "2", "--threads", "1"], extra)]);

    static string Refused(PicCli.Result result)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("pic eval-lm: ", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        return result.Error;
    }

    [Fact]
    public void Scores_a_model_and_writes_its_outputs()
    {
        string json = Path.Combine(root, "out", "scores.json");
        var result = EvalLm("--json", json);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("\"questions\": 2", File.ReadAllText(json));
    }

    [Fact]
    public void An_output_under_a_regular_file_is_refused_before_the_model_is_even_opened()
    {
        string file = Path.Combine(root, "plain.txt");
        File.WriteAllText(file, "x");
        var result = PicCli.Run("eval-lm", "--model", Path.Combine(root, "no-such-model"), "--qa", qaPath, "--predictions", Path.Combine(file, "p.jsonl"));
        Assert.Contains($"{file} is a file, not a folder", Refused(result));
    }

    [Fact]
    public void Every_question_skipped_is_a_failure_and_writes_no_scores()
    {
        string json = Path.Combine(root, "scores.json");
        Assert.Contains("all 2 questions were skipped: every prompt is longer than 1 tokens", Refused(EvalLm("--max-context-tokens", "1", "--json", json)));
        Assert.False(File.Exists(json));
    }

    [Fact]
    public void Limits_it_cannot_honour_are_refused_with_the_numbers()
    {
        Assert.Contains("--max-context-tokens must be between 1 and 510 (max_position_embeddings 512 - --max-new-tokens 2), got 100000",
            Refused(EvalLm("--max-context-tokens", "100000")));
        Assert.Contains("--max-new-tokens must be at least 1, got -5", Refused(EvalLm("--max-new-tokens", "-5")));
        Assert.Contains("--threads must be between 1 and", Refused(EvalLm("--threads", "0")));
        Assert.Contains("--dtype 'float16' is not one of float32, bfloat16", Refused(EvalLm("--dtype", "float16")));
    }
}
