using PicSharp.Storage;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Cli;

/// <summary>`pic pretrain-lm` on a tiny config, tokenizer and corpus: the run folder's claim and its hostile inputs.</summary>
public sealed class PretrainCommandsTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-pretrain-").FullName;
    readonly string configPath, tokenizerPath, corpusPath;

    public PretrainCommandsTests()
    {
        var texts = Enumerable.Range(0, 30).Select(i => $"the cat sat on the mat {i} times and the dog ran.").ToList();
        tokenizerPath = Path.Combine(root, "tokenizer.json");
        var tokenizer = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 280 });
        tokenizer.Save(tokenizerPath);
        configPath = Path.Combine(root, "config.json");
        File.WriteAllText(configPath, (TinyModels.Config() with { VocabSize = 300, BosTokenId = null, EosTokenIds = [] }).ToJson());
        corpusPath = Path.Combine(root, "corpus");
        Directory.CreateDirectory(corpusPath);
        for (int i = 0; i < texts.Count; i++) File.WriteAllText(Path.Combine(corpusPath, $"{i}.txt"), texts[i]);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    PicCli.Result Pretrain(string run, params string[] extra) => PicCli.Run(["pretrain-lm", .. PicCli.WithDefaults(["--config", configPath,
        "--tokenizer", tokenizerPath, "--corpus", corpusPath, "--out", run, "--steps", "2", "--batch", "1", "--seq-len", "16",
        "--warmup", "1", "--qa-share", "0", "--eval-every", "100", "--dtype", "float32", "--threads", "1",
        "--peak-gflops", "100"], extra)]); // a given peak spares each run the matmul measurement

    static string Refused(PicCli.Result result)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("pic pretrain-lm: ", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        return result.Error;
    }

    [Fact]
    public void Memory_episodes_train_write_compressor_folders_and_carry_their_tokens_into_a_run_from_the_model()
    {
        string first = Path.Combine(root, "first"), second = Path.Combine(root, "second");
        string[] memory = ["--seq-len", "64", "--memory-weight", "0.5", "--memory-ratios", "4,8", "--memory-batch", "2"];
        var trained = Pretrain(first, memory);
        Assert.True(trained.ExitCode == 0, trained.Error);
        Assert.Contains("memory episodes: weight 0.5, ratios 4/8", trained.Output);
        // The model itself as compressor, one folder per policy and ratio, loadable by every command that takes one.
        foreach (string name in new[] { "pic-embeddings-4", "global-embeddings-8" })
            Assert.True(File.Exists(Path.Combine(first, "memory-compressors", name, "compressor.json")), name);

        // A snapshot: the exported model with the checkpoint's episode tokens beside it.
        string snapshot = Path.Combine(root, "snapshot");
        Directory.CreateDirectory(snapshot);
        foreach (var file in Directory.GetFiles(Path.Combine(first, "model"))) File.Copy(file, Path.Combine(snapshot, Path.GetFileName(file)));
        File.Copy(Path.Combine(first, "checkpoint", "memory_episodes.safetensors"), Path.Combine(snapshot, "memory_episodes.safetensors"));
        var continued = PicCli.Run(["pretrain-lm", "--model", snapshot, "--tokenizer", tokenizerPath, "--corpus", corpusPath, "--out", second,
            "--steps", "1", "--batch", "1", "--warmup", "1", "--qa-share", "0", "--eval-every", "100", "--dtype", "float32", "--threads", "1",
            "--peak-gflops", "100", .. memory]);
        Assert.True(continued.ExitCode == 0, continued.Error);
        Assert.Contains("memory episode tokens of 8 arrangement(s) from", continued.Output);
        // A new run that adds a ratio keeps the snapshot's arrangements and starts the new ones fresh.
        var widened = PicCli.Run(["pretrain-lm", "--model", snapshot, "--tokenizer", tokenizerPath, "--corpus", corpusPath, "--out", Path.Combine(root, "widened"),
            "--steps", "1", "--batch", "1", "--warmup", "1", "--qa-share", "0", "--eval-every", "100", "--dtype", "float32", "--threads", "1",
            "--peak-gflops", "100", "--seq-len", "64", "--memory-weight", "0.5", "--memory-ratios", "2,4,8", "--memory-batch", "2"]);
        Assert.True(widened.ExitCode == 0, widened.Error);
        Assert.Contains("memory episode tokens of 8 arrangement(s) from", widened.Output);

        // Memory QA files without episodes are refused rather than ignored.
        Assert.Contains("memory episodes are off", Refused(Pretrain(Path.Combine(root, "third"), "--memory-qa-dev", Path.Combine(root, "none.json"))));
    }

    [Fact]
    public void Threads_and_sequence_lengths_it_cannot_use_are_refused_in_one_line()
    {
        string run = Path.Combine(root, "run");
        Assert.Contains("--threads must be between 1 and", Refused(Pretrain(run, "--threads", "0")));
        Assert.Contains("got 10000", Refused(Pretrain(run, "--threads", "10000")));
        Assert.Contains("--seq-len 600 is longer than the model reads (max_position_embeddings 512)", Refused(Pretrain(run, "--seq-len", "600")));
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoint")));
    }

    [Fact]
    public void Resume_refuses_training_options_that_differ_from_the_checkpoint_and_takes_equal_ones()
    {
        string run = Path.Combine(root, "run");
        Assert.Equal(0, Pretrain(run, "--stop-at-step", "1", "--threads", "1").ExitCode);
        string error = Refused(Pretrain(run, "--resume", "--steps", "5", "--lr", "0.5"));
        Assert.Contains("--steps 5 (checkpoint: 2)", error);
        Assert.Contains("--lr 0.5 (checkpoint: 0.001)", error);
        var resumed = Pretrain(run, "--resume", "--steps", "2", "--dtype", "fp32"); // the same values, fp32 as float32
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("stopped at step 2/2", resumed.Output);
        // Every step's model FLOP/s is ModelFlops.ForwardBackward of its 1 × 16 tokens per second, and MFU is that over the given peak.
        double flopsPerToken = global::PicSharp.Modeling.ModelFlops.ForwardBackward(global::PicSharp.Modeling.LlamaConfig.Load(configPath), 1, 16) / 16;
        Assert.All(new global::PicSharp.Training.MetricsLog(Path.Combine(run, "metrics.jsonl")).ReadAll().Where(m => m.Kind == "train"), m =>
        {
            Assert.Equal(1.0, m.Value("model_flops_per_s")!.Value / (m.TokensPerSecond!.Value * flopsPerToken), 2);
            Assert.Equal(1.0, m.Value("model_flops_per_s")!.Value / 100e9 / m.Value("mfu")!.Value, 3);
        });
        Assert.Contains("--peak-gflops must be positive", Refused(Pretrain(Path.Combine(root, "other"), "--peak-gflops", "-1")));
    }

    [Theory]
    [InlineData("--lr must be positive, got 0", "--lr", "0")]
    [InlineData("--memory-weight must be in (0, 1], got 2", "--memory-weight", "2")]
    [InlineData("--memory-ratios repeat: [4, 4]", "--memory-weight", "0.5", "--memory-ratios", "4,4")]
    [InlineData("--dtype 'float16' is not one of float32, bfloat16", "--dtype", "float16")]
    public void Settings_out_of_range_are_refused_naming_their_flag(string expected, params string[] extra) =>
        Assert.Contains(expected, Refused(Pretrain(Path.Combine(root, "bad"), extra)));

    [Fact]
    public void A_second_run_into_a_claimed_folder_is_refused_naming_the_holder()
    {
        string run = Path.Combine(root, "run");
        using (RunFolderLock.Acquire(run))
        {
            var refused = Pretrain(run);
            Assert.Equal(1, refused.ExitCode);
            Assert.StartsWith("pic pretrain-lm: ", refused.Error);
            Assert.Contains($"in use by process {Environment.ProcessId}", refused.Error);
            Assert.Single(refused.Error.Trim().Split('\n'));
            Assert.False(Directory.Exists(Path.Combine(run, "checkpoint")));
        }
        Assert.Equal(0, Pretrain(run).ExitCode);
        Assert.True(Directory.Exists(Path.Combine(run, "model")));
    }

    [Fact]
    public void Resume_removes_the_temporary_folder_of_a_killed_checkpoint_write()
    {
        string run = Path.Combine(root, "run");
        var first = Pretrain(run, "--stop-at-step", "1");
        Assert.True(first.ExitCode == 0, first.Error);
        string stale = Path.Combine(run, $"checkpoint.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(stale);
        var resumed = Pretrain(run, "--resume");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains($"removed {stale}", resumed.Output);
        Assert.False(Directory.Exists(stale));
    }
}
