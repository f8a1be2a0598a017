using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Training;

namespace PicSharp.Tests.Training;

/// <summary>What <see cref="TrainingRun{TOptions, TState, TStep}"/> guarantees every recipe: the same run folder, the
/// same refusals in the same words, and a resume that drops the metrics its checkpoint does not contain.</summary>
public sealed class TrainingRunTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-training-run-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string> Recipes => ["pretrain", "compressor"];

    sealed record Opened(IDisposable Run, Action<int> RunTo, Func<IReadOnlyList<MetricsRecord>> Metrics) : IDisposable
    {
        public void Dispose() => Run.Dispose();
    }

    static Opened Open(string recipe, string dir, string dataHash, bool resume, bool otherOptions = false)
    {
        if (recipe == "pretrain")
        {
            var options = TrainingFixtures.Options(steps: 2) with { LearningRate = otherOptions ? 1e-2 : 3e-3 };
            var sampler = new BatchSampler(TrainingFixtures.Mix(), options.SequenceLength, options.QaShare, options.Seed, padTokenId: 0);
            var run = new PretrainRun(dir, TrainingFixtures.Model(), options, sampler, [], dataHash, resume);
            return new(run, step => run.Run(stopAtStep: step), () => run.Metrics);
        }
        var corpus = new Random(4).GetItems(Enumerable.Range(3, 58).ToArray(), 300);
        var compressorOptions = new CompressorTrainingOptions
        {
            Compressor = new CompressorOptions { Ratio = 4, ChunkLength = 8, Lora = new() { Rank = 2, Alpha = 4 } },
            LearningRate = otherOptions ? 1e-2 : 5e-3, WarmupSteps = 1, TotalSteps = 2, MicroBatchSize = 2, WindowLength = 16,
            ContinuationLength = 4, EvalEverySteps = 1, EvalSamples = 2, CheckpointMinutes = 60,
        };
        var windows = new CorpusWindows(corpus, compressorOptions.WindowLength, compressorOptions.ContinuationLength, compressorOptions.LmShare);
        var compressorRun = new CompressorRun(dir, TinyModels.Create(TinyModels.Config()), compressorOptions, windows,
            new CompressorProbe(CorpusWindows.Spread(corpus, compressorOptions.WindowLength, compressorOptions.EvalSamples)), dataHash, resume);
        return new(compressorRun, step => compressorRun.Run(stopAtStep: step), () => compressorRun.Metrics);
    }

    static string Refusal(Func<Opened> open) => Assert.Throws<TrainingException>(() => open().Dispose()).Message;

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Every_recipe_keeps_the_same_run_folder_and_refuses_in_the_same_words(string recipe)
    {
        string dir = Path.Combine(root, recipe), checkpoint = Path.Combine(dir, "checkpoint");
        using (var first = Open(recipe, dir, "data-1", resume: false)) first.RunTo(1);
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "state.json")))!.AsObject();
        Assert.Equal(1, state["step"]!.GetValue<int>());
        Assert.Equal("data-1", state["data_hash"]!.GetValue<string>());
        Assert.True(state["tokens_seen"]!.GetValue<long>() > 0 && state["elapsed_seconds"]!.GetValue<double>() > 0);
        Assert.Contains("\"learning_rate\"", File.ReadAllText(Path.Combine(checkpoint, "options.json")));
        // A step a killed process logged after its last checkpoint.
        string metrics = Path.Combine(dir, "metrics.jsonl");
        File.AppendAllText(metrics, new MetricsRecord("train", 7, 999, 1, 1).ToJson() + "\n");
        string logged = File.ReadAllText(metrics);

        Assert.Equal($"{dir} already holds a checkpoint: resume it, or start the new run in another folder",
            Refusal(() => Open(recipe, dir, "data-1", resume: false)));
        Assert.Equal($"{checkpoint}: the run was started with different training options; resume with the same ones",
            Refusal(() => Open(recipe, dir, "data-1", resume: true, otherOptions: true)));
        Assert.Equal($"{checkpoint}: the training data changed since the checkpoint (hash data-1 vs data-2)",
            Refusal(() => Open(recipe, dir, "data-2", resume: true)));
        Assert.Equal($"{checkpoint}: the training data changed since the checkpoint (hash data-1 vs 0123456789ab…)",
            Refusal(() => Open(recipe, dir, "0123456789abcdef", resume: true)));
        string empty = Path.Combine(root, recipe + "-empty");
        Assert.Equal($"{empty}: no checkpoint to resume from (expected checkpoint/)", Refusal(() => Open(recipe, empty, "data-1", resume: true)));
        Assert.Equal(logged, File.ReadAllText(metrics)); // a refused run leaves the folder as it was

        using var resumed = Open(recipe, dir, "data-1", resume: true);
        Assert.All(resumed.Metrics(), m => Assert.True(m.Step <= 1, $"{m.Kind} line of step {m.Step} survived the resume"));
        resumed.RunTo(2);
        Assert.Equal([1, 2], resumed.Metrics().Where(m => m.Kind == "train").Select(m => m.Step));
    }

    [Fact]
    public void Every_recipe_refuses_a_shared_setting_in_the_same_words()
    {
        var pretrain = TrainingFixtures.Options();
        var compressor = new CompressorTrainingOptions();
        (TrainingOptions, CompressorTrainingOptions, string)[] cases =
        [
            (pretrain with { LearningRate = 0 }, compressor with { LearningRate = 0 }, "LearningRate must be positive, got 0"),
            (pretrain with { WarmupSteps = -1 }, compressor with { WarmupSteps = -1 }, "WarmupSteps must be ≥ 0, got -1"),
            (pretrain with { Beta2 = 1 }, compressor with { Beta2 = 1 }, "Beta1 and Beta2 must be in [0, 1), got (0.9, 1)"),
            (pretrain with { CheckpointMinutes = 0 }, compressor with { CheckpointMinutes = 0 }, "CheckpointMinutes must be positive, got 0"),
        ];
        foreach (var (a, b, expected) in cases)
        {
            Assert.Equal(expected, Assert.Throws<TrainingException>(a.Validate).Message);
            Assert.Equal(expected, Assert.Throws<TrainingException>(b.Validate).Message);
        }
    }
}
