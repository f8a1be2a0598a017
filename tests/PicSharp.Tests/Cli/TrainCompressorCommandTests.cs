using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Tokenization;
using PicSharp.Training;

namespace PicSharp.Tests.Cli;

/// <summary>`pic train-compressor` end to end on a tiny model folder and a tiny corpus in a temp dir.</summary>
public sealed class TrainCompressorCommandTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-train-compressor-").FullName;
    readonly string modelDir, corpusDir;

    public TrainCompressorCommandTests()
    {
        var texts = Enumerable.Range(0, 30).Select(i => $"the cat sat on the mat {i} times and the dog ran to the river {i % 7} times. ").ToList();
        var tokenizer = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 280 });
        modelDir = Path.Combine(root, "model");
        Directory.CreateDirectory(modelDir);
        // Positions for a whole demo passage in the tiny vocabulary's byte tokens.
        var config = TinyModels.Config() with { VocabSize = 300, MaxPositionEmbeddings = 4096, BosTokenId = tokenizer.BosTokenId, EosTokenIds = [tokenizer.EosTokenId!.Value] };
        using (var model = TinyModels.Create(config)) ModelFolder.Save(model, modelDir);
        tokenizer.Save(Path.Combine(modelDir, ModelFolder.TokenizerFile));
        corpusDir = Path.Combine(root, "corpus");
        Directory.CreateDirectory(corpusDir);
        for (int d = 0; d < 3; d++) File.WriteAllText(Path.Combine(corpusDir, $"doc{d}.txt"), string.Concat(texts.Skip(d * 10).Take(10)));
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    static (int ExitCode, string Errors) Pic(params string[] args)
    {
        var result = PicCli.Run(args);
        return (result.ExitCode, result.Error);
    }

    // Small defaults; an option in `extra` replaces its default.
    string[] Train(string run, params string[] extra)
    {
        string[] defaults =
        [
            "--model", modelDir, "--corpus", corpusDir, "--validation", corpusDir, "--out", Path.Combine(root, run), "--steps", "2",
            "--window", "16", "--continuation", "4", "--chunk-length", "8", "--batch", "2", "--eval-every", "1", "--eval-samples", "2",
            "--lora-rank", "2", "--peak-gflops", "100", // a given peak spares each run the matmul measurement
        ];
        return ["train-compressor", .. PicCli.WithDefaults(defaults, extra)];
    }

    [Fact]
    public void A_short_run_leaves_a_compressor_checkpoint_metrics_and_a_loss_curve_and_resumes_to_more_steps()
    {
        var (code, errors) = Pic(Train("run", "--steps", "3", "--stop-at-step", "2", "--memory-init", "vocab-mean"));
        Assert.True(code == 0, errors);
        string run = Path.Combine(root, "run");
        string checkpoint = Path.Combine(run, CompressorRun.CheckpointDirName);
        Assert.Equal(4, CompressorFolder.ReadOptions(checkpoint).Ratio);
        Assert.Equal(MemoryInit.VocabMean, CompressorRun.ReadCheckpointOptions(run).MemoryInit);
        Assert.True(File.Exists(Path.Combine(run, "loss.png")));
        Assert.Equal(2, new MetricsLog(Path.Combine(run, CompressorRun.MetricsFileName)).ReadAll().Count(m => m.Kind == "train"));

        var (refused, why) = Pic(Train("run", "--steps", "5", "--resume")); // a resumed run keeps its checkpoint's schedule
        Assert.Equal(1, refused);
        Assert.Contains("--steps 5 (checkpoint: 3)", why);
        Assert.Equal(0, Pic(Train("run", "--steps", "3", "--resume")).ExitCode);
        var metrics = new MetricsLog(Path.Combine(run, CompressorRun.MetricsFileName)).ReadAll();
        Assert.Equal([1, 2, 3], metrics.Where(m => m.Kind == "train").Select(m => m.Step));
        Assert.All(metrics.Where(m => m.Kind == "eval"), m => Assert.InRange(m.Value("accuracy")!.Value, 0, 1));
        // Throughput of every step: tokens/s, model FLOP/s and MFU against the given 100 GFLOP/s.
        Assert.All(metrics.Where(m => m.Kind == "train"), m =>
        {
            Assert.True(m.TokensPerSecond > 0 && m.Value("model_flops_per_s") > 0);
            Assert.Equal(1.0, m.Value("model_flops_per_s")!.Value / 100e9 / m.Value("mfu")!.Value, 3);
        });
    }

    [Fact]
    public void A_checkpoint_with_a_broken_optimizer_state_is_refused_in_one_line_naming_the_file()
    {
        Assert.Equal(0, Pic(Train("broken", "--steps", "3", "--stop-at-step", "1")).ExitCode);
        string state = Path.Combine(root, "broken", CompressorRun.CheckpointDirName, AdamW.FileName);
        byte[] bytes = File.ReadAllBytes(state);
        File.WriteAllBytes(state, bytes[..(bytes.Length / 2)]);
        var (code, errors) = Pic(Train("broken", "--steps", "3", "--resume"));
        Assert.Equal(1, code);
        string line = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pic train-compressor: ", line);
        Assert.Contains(AdamW.FileName, line);
    }

    [Theory]
    [InlineData("chunk length 8 is not a multiple of ratio 3", "--ratio", "3")]
    [InlineData("--objective qa needs at least one --qa FILE", "--objective", "qa")]
    [InlineData("no checkpoint to resume from", "--resume")]
    [InlineData("--kind: unknown value 'prefix'", "--kind", "prefix")]
    [InlineData("unknown mask policy 'local'", "--policy", "local")]
    [InlineData("--validation nowhere not found", "--validation", "nowhere")]
    [InlineData("--window 5000 needs", "--window", "5000")]
    [InlineData("--peak-gflops must be positive, got 0", "--peak-gflops", "0")]
    [InlineData("--memory-init: unknown value 'zeros'; use random, vocab-mean", "--memory-init", "zeros")]
    [InlineData("--memory-lr must be positive, got 0", "--memory-lr", "0")]
    [InlineData("--lm-share must be in [0, 1], got 1.5", "--lm-share", "1.5")]
    public void Bad_options_end_with_one_line_naming_the_problem(string expected, params string[] extra)
    {
        var (code, errors) = Pic(Train("bad", extra));
        Assert.Equal(1, code);
        string line = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pic train-compressor: ", line);
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Eval_lm_answers_the_same_questions_from_the_full_passage_its_memory_and_nothing()
    {
        Assert.Equal(0, Pic(Train("for-eval")).ExitCode);
        string context = "the cat sat on the mat 3 times and the dog ran to the river 2 times.";
        var examples = new[] { "cat", "dog", "river" }.Select((answer, i) =>
            new SquadExample($"q{i}", "t", context, $"what is {i}?", [new SquadAnswer(answer, context.IndexOf(answer, StringComparison.Ordinal))])).ToList();
        string qa = Path.Combine(root, "qa.json"), json = Path.Combine(root, "eval.json");
        new SquadDataset(examples).Save(qa);

        var result = PicCli.Run("eval-lm", "--model", modelDir, "--compressor", Path.Combine(root, "for-eval", CompressorRun.CheckpointDirName),
            "--qa", qa, "--max-new-tokens", "3", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        var modes = JsonNode.Parse(File.ReadAllText(json))!["modes"]!.AsArray();
        Assert.Equal(["full", "memory", "none"], modes.Select(m => m!["mode"]!.GetValue<string>()));
        Assert.All(modes, m => Assert.Equal(3, m!["answered"]!.GetValue<int>()));
        var memory = modes[1]!["memory"]!;
        Assert.Equal(1, memory["contexts"]!.GetValue<int>()); // three questions, one passage, one compression
        Assert.Equal(4, memory["ratio"]!.GetValue<int>());
        Assert.InRange(memory["memory_tokens_per_context"]!.GetValue<double>(), 1, memory["context_tokens_per_context"]!.GetValue<double>() / 3);
        Assert.All(modes, m => Assert.InRange(m!["answer_loss"]!.GetValue<double>(), 0.01, 50));

        var missing = PicCli.Run("eval-lm", "--model", modelDir, "--qa", qa, "--modes", "memory,memory-other");
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("pic eval-lm: --modes memory,memory-other needs --compressor DIR", missing.Error.Trim());
        // The control needs a second passage to read instead of the question's own.
        var onePassage = PicCli.Run("eval-lm", "--model", modelDir, "--compressor", Path.Combine(root, "for-eval", CompressorRun.CheckpointDirName),
            "--qa", qa, "--modes", "memory-other");
        Assert.Equal((1, "pic eval-lm: memory-other needs questions about at least two different passages"), (onePassage.ExitCode, onePassage.Error.Trim()));
    }

    [Fact]
    public void Demo_answers_from_the_passage_its_memory_and_nothing_and_names_a_missing_compressor()
    {
        Assert.Equal(0, Pic(Train("for-demo")).ExitCode);
        var result = PicCli.Run("demo", "--model", modelDir, "--compressor", Path.Combine(root, "for-demo", CompressorRun.CheckpointDirName), "--questions", "1");
        Assert.True(result.ExitCode == 0, result.Error);

        var missing = PicCli.Run("demo", "--model", modelDir, "--compressor", Path.Combine(root, "nowhere"), "--questions", "1");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("pic demo: ", missing.Error);
        Assert.Contains("nowhere", missing.Error);
    }

    [Fact]
    public void A_run_folder_another_process_holds_is_refused()
    {
        using var claim = RunFolderLock.Acquire(Path.Combine(root, "held"));
        var (code, errors) = Pic(Train("held"));
        Assert.Equal(1, code);
        Assert.StartsWith("pic train-compressor: ", errors);
        Assert.False(Directory.Exists(Path.Combine(root, "held", CompressorRun.CheckpointDirName)));
    }

    [Fact]
    public void From_keeps_the_folder_options_and_refuses_explicit_ones()
    {
        Assert.Equal(0, Pic(Train("first")).ExitCode);
        string checkpoint = Path.Combine(root, "first", CompressorRun.CheckpointDirName);
        var (code, errors) = Pic(Train("second", "--from", checkpoint, "--ratio", "2"));
        Assert.Equal(1, code);
        Assert.Contains("--from keeps the options", errors);
        Assert.Contains("--ratio", errors);
    }
}
