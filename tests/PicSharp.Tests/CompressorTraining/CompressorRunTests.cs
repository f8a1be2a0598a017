using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Modeling;
using PicSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.CompressorTraining;

public sealed class CompressorRunTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-compressor-run-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // Ids 3..60 fit TinyModels' vocabulary of 61.
    static readonly int[] Corpus = new Random(4).GetItems(Enumerable.Range(3, 58).ToArray(), 600);

    static CompressorTrainingOptions Options(int steps, MemoryKind kind = MemoryKind.Embeddings) => new()
    {
        Compressor = new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind, Lora = new() { Rank = 4, Alpha = 8 } },
        LearningRate = 5e-3, MemoryLearningRate = 1e-2, WarmupSteps = 2, TotalSteps = steps, MicroBatchSize = 2,
        GradientAccumulation = 2, Seed = 9, LmShare = 0.5, WindowLength = 16, ContinuationLength = 6, EvalEverySteps = 2,
        EvalSamples = 3, CheckpointMinutes = 60,
    };

    static LlamaForCausalLM Base(ScalarType dtype = ScalarType.Float32)
    {
        var model = TinyModels.Create(TinyModels.Config());
        model.to(dtype);
        return model;
    }

    static CompressorRun Run(string dir, CompressorTrainingOptions options, bool resume, LlamaForCausalLM? model = null, string? from = null) =>
        new(dir, model ?? Base(), options, new CorpusWindows(Corpus, options.WindowLength, options.ContinuationLength, options.LmShare),
            new CompressorProbe(CorpusWindows.Spread(Corpus, options.WindowLength, options.EvalSamples)), "data-1", resume, from);

    static Dictionary<string, Tensor> Trainable(Compressor compressor) =>
        compressor.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Resumed_run_equals_an_uninterrupted_one(MemoryKind kind)
    {
        var options = Options(steps: 6, kind);
        using var straight = Run(Path.Combine(root, "straight"), options, resume: false);
        straight.Run();

        string resumedDir = Path.Combine(root, "resumed");
        using (var firstHalf = Run(resumedDir, options, resume: false)) firstHalf.Run(stopAtStep: 4);
        using var secondHalf = Run(resumedDir, options, resume: true);
        Assert.Equal(4, secondHalf.Step);
        secondHalf.Run();

        var expected = straight.Metrics.Select(m => (m.Kind, m.Step, m.Loss, m.Value("accuracy"))).ToArray();
        var actual = secondHalf.Metrics.Select(m => (m.Kind, m.Step, m.Loss, m.Value("accuracy"))).ToArray();
        Assert.Equal(6, expected.Count(m => m.Kind == "train"));
        Assert.Equal([0, 2, 4, 6], expected.Where(m => m.Kind == "eval").Select(m => m.Step));
        Assert.Equal(expected, actual);
        var a = Trainable(straight.Compressor);
        var b = Trainable(secondHalf.Compressor);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, p => Assert.Equal(0.0, TinyModels.MaxAbsDiff(p.Value, b[p.Key])));
    }

    [Theory]
    [InlineData(MemoryInit.Random)]
    [InlineData(MemoryInit.VocabMean)]
    public void Training_moves_adapters_and_memory_but_no_base_weight_of_a_bf16_model(MemoryInit memoryInit)
    {
        var model = Base(ScalarType.BFloat16);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var run = Run(Path.Combine(root, "frozen"), Options(steps: 3) with { MemoryInit = memoryInit }, resume: false, model);
        var memoryBefore = run.Compressor.MemoryTokens.detach().clone();
        var loraBefore = Trainable(run.Compressor).Where(p => p.Key.Contains("lora_B")).ToDictionary();
        run.Run();

        foreach (var (name, parameter) in model.named_parameters().Where(p => !p.name.Contains(".lora_")))
            Assert.True(TinyModels.MaxAbsDiff(before[name], parameter) == 0, $"base weight {name} changed");
        Assert.True(TinyModels.MaxAbsDiff(memoryBefore, run.Compressor.MemoryTokens) > 0, "memory tokens did not train");
        Assert.Equal(2 * 7, loraBefore.Count); // B matrices: 2 layers × 7 projections
        Assert.All(loraBefore, p => Assert.True(TinyModels.MaxAbsDiff(p.Value, run.Compressor.named_parameters().First(q => q.name == p.Key).parameter) > 0, $"{p.Key} did not train"));
        Assert.Equal(ScalarType.Float32, run.Compressor.MemoryTokens.dtype);
    }

    [Fact]
    public void The_checkpoint_is_a_compressor_folder_that_a_new_run_can_start_from()
    {
        var options = Options(steps: 2);
        string first = Path.Combine(root, "first");
        using (var run = Run(first, options, resume: false)) run.Run();
        string checkpoint = Path.Combine(first, CompressorRun.CheckpointDirName);
        Assert.True((options with { Compressor = CompressorFolder.ReadOptions(checkpoint) }).SameTrajectory(options));

        using var next = Run(Path.Combine(root, "next"), options, resume: false, from: checkpoint);
        using var loaded = CompressorFolder.Load(Base(), checkpoint);
        Assert.Equal(CompressorFolder.Fingerprint(loaded), CompressorFolder.Fingerprint(next.Compressor));

        var otherShape = options with { Compressor = options.Compressor with { Ratio = 2 } };
        Assert.Contains("options differ", Assert.Throws<TrainingException>(() => Run(Path.Combine(root, "other"), otherShape, resume: false, from: checkpoint)).Message);
    }

    [Fact]
    public void Restarting_over_a_checkpoint_or_resuming_with_other_options_data_or_base_is_refused()
    {
        var options = Options(steps: 2);
        string dir = Path.Combine(root, "refuse");
        using (var run = Run(dir, options, resume: false)) run.Run();
        Assert.Contains("already holds a checkpoint", Assert.Throws<TrainingException>(() => Run(dir, options, resume: false)).Message);
        Assert.Contains("different training options", Assert.Throws<TrainingException>(() => Run(dir, options with { LearningRate = 1e-3 }, resume: true)).Message);
        Assert.Contains("another base model", Assert.Throws<TrainingException>(() => Run(dir, options, resume: true, TinyModels.Create(TinyModels.Config(), seed: 99))).Message);
        // The base's fingerprint includes its dtype: resuming in another compute dtype would change the trajectory.
        Assert.Contains("another compute dtype", Assert.Throws<TrainingException>(() => Run(dir, options, resume: true, Base(ScalarType.BFloat16))).Message);
        Assert.Contains("training data changed", Assert.Throws<TrainingException>(() =>
            new CompressorRun(dir, Base(), options, new CorpusWindows(Corpus, 16, 6, 0.5), new CompressorProbe([]), "data-2", resume: true)).Message);
        using var resumed = Run(dir, options with { CheckpointMinutes = 5, LogEverySteps = 3 }, resume: true);
        Assert.Equal(2, resumed.Step);
        Assert.Contains("no checkpoint", Assert.Throws<TrainingException>(() => Run(Path.Combine(root, "empty"), options, resume: true)).Message);
    }

    [Fact]
    public void Bad_options_name_the_setting()
    {
        Assert.Contains("MemoryLearningRate must be positive", Assert.Throws<TrainingException>(() => (Options(2) with { MemoryLearningRate = 0 }).Validate()).Message);
        Assert.Contains("multiple of ratio", Assert.Throws<TrainingException>(() =>
            (Options(2) with { Compressor = new CompressorOptions { Ratio = 3, ChunkLength = 8 } }).Validate()).Message);
        Assert.Contains("LmShare must be in [0, 1]", Assert.Throws<TrainingException>(() => (Options(2) with { LmShare = 1.5 }).Validate()).Message);
        Assert.Contains("fewer than one window", Assert.Throws<TrainingException>(() => new CorpusWindows([3, 4, 5], 16, 6, 0.5)).Message);
    }

    [Fact]
    public void Options_survive_their_json_and_batches_are_a_pure_function_of_seed_and_step()
    {
        var keyValues = Options(5, MemoryKind.KeyValues);
        var options = keyValues with
        {
            Compressor = keyValues.Compressor with { Policy = MaskPolicy.PicCausalText },
            MemoryInit = MemoryInit.VocabMean,
        };
        var json = options.ToJson();
        Assert.Contains("\"vocab-mean\"", json);
        Assert.False(CompressorTrainingOptions.FromJson(json).SameTrajectory(options with { MemoryInit = MemoryInit.Random }));
        // Options written while the decoder adapter existed (its fields null) still read: such runs resume and report.
        string older = json.Replace("\"compressor\": {", "\"compressor\": { \"decoder_lora\": null, \"decoder_label\": \"frozen decoder (as in the paper)\",")
            .Insert(1, "\"decoder_learning_rate\": null,");
        Assert.Contains("\"decoder_lora\": null", older);
        Assert.True(CompressorTrainingOptions.FromJson(older).SameTrajectory(options));
        Assert.Contains("\"pic-causal-text\"", json);
        Assert.Contains("\"key-values\"", json);
        Assert.True(CompressorTrainingOptions.FromJson(json).SameTrajectory(options));

        var source = new CorpusWindows(Corpus, 16, 6, 0.5);
        var a = new CompressorBatches(source, 3).Sample(7, 1, 4);
        var b = new CompressorBatches(source, 3).Sample(7, 1, 4);
        Assert.Equal(a.Select(e => (e.Decoder.Task, string.Join(",", e.Context))), b.Select(e => (e.Decoder.Task, string.Join(",", e.Context))));
        var mixed = new CompressorBatches(source, 3).Sample(0, 0, 64);
        Assert.Contains(mixed, e => e.Decoder.Task == TaskToken.Autoencode && e.Decoder.Target.SequenceEqual(e.Context));
        Assert.Contains(mixed, e => e.Decoder.Task == TaskToken.Continue && e.Decoder.Target.Count == 6);
    }
}
