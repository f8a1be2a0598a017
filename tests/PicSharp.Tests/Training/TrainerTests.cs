using PicSharp.Storage;
using PicSharp.Modeling;
using PicSharp.Training;
using TorchSharp;

namespace PicSharp.Tests.Training;

public class TrainerTests
{
    static BatchSampler Sampler(TrainingOptions options) =>
        new(TrainingFixtures.Mix(), options.SequenceLength, options.QaShare, options.Seed, padTokenId: 0);

    static IReadOnlyList<MicroBatch> Validation() =>
        BatchSampler.Consecutive(TrainingFixtures.Mix().CorpusTokens, 32, 2, 2);

    static Dictionary<string, torch.Tensor> Weights(PicSharp.Modeling.LlamaForCausalLM model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void Resumed_run_equals_an_uninterrupted_one(string dtype)
    {
        string straightDir = TrainingFixtures.TempDir(), resumedDir = TrainingFixtures.TempDir();
        try
        {
            var options = TrainingFixtures.Options(steps: 6, dtype);
            string hash = TrainingFixtures.Mix().InputHash;
            using var straight = new PretrainRun(straightDir, TrainingFixtures.Model(), options, Sampler(options), Validation(), hash, resume: false);
            straight.Run();

            using (var firstHalf = new PretrainRun(resumedDir, TrainingFixtures.Model(), options, Sampler(options), Validation(), hash, resume: false))
                firstHalf.Run(stopAtStep: 3);
            // A differently initialised model proves the weights come from the checkpoint.
            using var secondHalf = new PretrainRun(resumedDir, TrainingFixtures.Model(seed: 99), options, Sampler(options), Validation(), hash, resume: true);
            Assert.Equal(3, secondHalf.Step);
            secondHalf.Run();

            var expected = straight.Metrics.Select(m => (m.Kind, m.Step, m.Loss)).ToArray();
            var actual = secondHalf.Metrics.Select(m => (m.Kind, m.Step, m.Loss)).ToArray();
            Assert.Equal(6, expected.Count(m => m.Kind == "train"));
            Assert.Equal(expected, actual);
            var a = Weights(straight.Model);
            var b = Weights(secondHalf.Model);
            Assert.All(a, p => Assert.Equal(0.0, TinyModels.MaxAbsDiff(p.Value, b[p.Key])));
        }
        finally
        {
            Directory.Delete(straightDir, recursive: true);
            Directory.Delete(resumedDir, recursive: true);
        }
    }

    [Fact]
    public void Restarting_over_a_checkpoint_or_resuming_with_other_options_or_data_is_refused()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            var options = TrainingFixtures.Options(steps: 2);
            string hash = TrainingFixtures.Mix().InputHash;
            string tokenizer = Path.Combine(dir, "source-tokenizer.json");
            Directory.CreateDirectory(dir);
            File.WriteAllText(tokenizer, "{\"model\": {}}");
            using (var run = new PretrainRun(dir, TrainingFixtures.Model(), options, Sampler(options), [], hash, resume: false) { TokenizerPath = tokenizer })
                run.Run(stopAtStep: 1);
            // The checkpoint is a model folder: config, weights and the run's tokenizer.
            string checkpoint = Path.Combine(dir, PretrainRun.CheckpointDirName);
            Assert.Equal(File.ReadAllText(tokenizer), File.ReadAllText(Path.Combine(checkpoint, "tokenizer.json")));
            using (var loaded = ModelFolder.Load(checkpoint)) Assert.Equal(TinyModels.Config().VocabSize, loaded.Config.VocabSize);
            Assert.Throws<TrainingException>(() => new PretrainRun(dir, TrainingFixtures.Model(), options, Sampler(options), [], hash, resume: false));
            Assert.Throws<TrainingException>(() => new PretrainRun(dir, TrainingFixtures.Model(), options with { LearningRate = 1 }, Sampler(options), [], hash, resume: true));
            Assert.Throws<TrainingException>(() => new PretrainRun(dir, TrainingFixtures.Model(), options, Sampler(options), [], new string('0', 64), resume: true));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Loss_falls_on_a_small_repeated_corpus()
    {
        var options = TrainingFixtures.Options(steps: 40) with { LearningRate = 1e-2, QaShare = 0.0 };
        using var trainer = new LmTrainer(TrainingFixtures.Model(), options);
        var sampler = Sampler(options);
        double before = trainer.EvaluateLoss(Validation());
        for (int i = 0; i < options.TotalSteps; i++) trainer.TrainStep(sampler);
        double after = trainer.EvaluateLoss(Validation());
        Assert.True(after < before * 0.6, $"validation loss {before:F3} -> {after:F3}");
    }

    [Fact]
    public void Bf16_training_tracks_fp32_early_on()
    {
        var fp32 = TrainingFixtures.Options(steps: 5);
        using var exact = new LmTrainer(TrainingFixtures.Model(), fp32);
        using var mixed = new LmTrainer(TrainingFixtures.Model(), fp32 with { Dtype = "bfloat16" });
        var sampler = Sampler(fp32);
        for (int i = 0; i < 5; i++)
        {
            var a = exact.TrainStep(sampler);
            var b = mixed.TrainStep(sampler);
            Assert.InRange(b.Loss, a.Loss - 0.05, a.Loss + 0.05);
        }
        Assert.Equal(torch.ScalarType.Float32, mixed.Model.Dtype);
        Assert.True(mixed.EvaluateLoss(Validation()) < exact.EvaluateLoss(Validation()) + 0.05);
    }

    [Fact]
    public void Failed_checkpoint_write_leaves_the_previous_one_intact()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            string checkpoint = Path.Combine(dir, "checkpoint");
            AtomicFolder.Write(checkpoint, d => File.WriteAllText(Path.Combine(d, "state.json"), "first"));
            Assert.Throws<IOException>(() => AtomicFolder.Write(checkpoint, d =>
            {
                File.WriteAllText(Path.Combine(d, "state.json"), "half-written");
                throw new IOException("disk full");
            }));
            Assert.Equal("first", File.ReadAllText(Path.Combine(checkpoint, "state.json")));
            Assert.Equal([checkpoint], Directory.GetDirectories(dir));

            AtomicFolder.Write(checkpoint, d => File.WriteAllText(Path.Combine(d, "state.json"), "second"));
            Assert.Equal("second", File.ReadAllText(Path.Combine(AtomicFolder.Find(checkpoint)!, "state.json")));
            Assert.Equal([checkpoint], Directory.GetDirectories(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Checkpoint_interrupted_between_renames_is_found_as_old()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            string checkpoint = Path.Combine(dir, "checkpoint");
            Directory.CreateDirectory(checkpoint + ".old");
            Assert.Equal(checkpoint + ".old", AtomicFolder.Find(checkpoint));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
