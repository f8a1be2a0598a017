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

    PicCli.Result Pretrain(string run, params string[] extra) => PicCli.Run(["pretrain-lm", "--config", configPath,
        "--tokenizer", tokenizerPath, "--corpus", corpusPath, "--out", run, "--steps", "2", "--batch", "1", "--seq-len", "16",
        "--warmup", "1", "--qa-share", "0", "--eval-every", "100", "--dtype", "fp32", "--threads", "1", .. extra]);

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
