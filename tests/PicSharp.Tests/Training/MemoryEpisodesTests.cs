using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Modeling;
using PicSharp.Training;
using TorchSharp;

namespace PicSharp.Tests.Training;

public class MemoryEpisodesTests
{
    static readonly MemoryEpisodeOptions Episodes = new()
    {
        Ratios = [2, 4], ChunkLength = 8, CurriculumSteps = 2, EpisodesPerMicroBatch = 3, MinWindow = 6, MaxWindow = 16,
        ContinuationLength = 4, QaShare = 0.4, KeyValuesShare = 0.5,
    };

    // Two short "passages" with a question prompt and an answer, in the tiny vocabulary.
    static readonly IReadOnlyList<CompressorExample> Questions =
    [
        new([5, 6, 7, 8, 9, 10, 11, 12, 13], new DecoderExample(TaskToken.Answer, [20, 21], [9, 2])),
        new([14, 15, 16, 17, 18, 19], new DecoderExample(TaskToken.Answer, [20, 22], [17, 2])),
    ];

    static TrainingOptions Options(int steps, string dtype = "float32", double weight = 0.5, int encoderRank = 0) =>
        TrainingFixtures.Options(steps, dtype) with
        {
            MemoryEpisodes = Episodes with { Weight = weight, EncoderLoraRank = encoderRank, LearningRate = encoderRank > 0 ? 1e-2 : null },
        };

    static PretrainRun Run(string dir, TrainingOptions options, LlamaForCausalLM model, bool resume) =>
        new(dir, model, options, new BatchSampler(TrainingFixtures.Mix(), options.SequenceLength, options.QaShare, options.Seed, padTokenId: 0),
            BatchSampler.Consecutive(TrainingFixtures.Mix().CorpusTokens, 32, 2, 2), TrainingFixtures.Mix().InputHash, resume,
            compute => new MemoryEpisodes(compute, options.MemoryEpisodes!, options.Seed, TrainingFixtures.Mix().CorpusTokens, Questions))
        {
            MemoryProbe = ([TrainingFixtures.Mix().CorpusTokens[..16]], Questions),
        };

    static Dictionary<string, torch.Tensor> Weights(PretrainRun run) =>
        run.Model.named_parameters().Concat(run.Episodes!.Parameters.Select((p, i) => ($"episode.{i}", p)))
            .ToDictionary(p => p.Item1, p => p.Item2.detach().clone());

    [Theory]
    [InlineData("float32", 0)]
    [InlineData("bfloat16", 0)]
    [InlineData("float32", 2)]
    [InlineData("bfloat16", 2)]
    public void Resumed_run_with_memory_episodes_equals_an_uninterrupted_one(string dtype, int encoderRank)
    {
        string straightDir = TrainingFixtures.TempDir(), resumedDir = TrainingFixtures.TempDir();
        try
        {
            var options = Options(steps: 6, dtype, encoderRank: encoderRank);
            using var straight = Run(straightDir, options, TrainingFixtures.Model(), resume: false);
            straight.Run();
            using (var firstHalf = Run(resumedDir, options, TrainingFixtures.Model(), resume: false)) firstHalf.Run(stopAtStep: 3);
            using var secondHalf = Run(resumedDir, options, TrainingFixtures.Model(seed: 99), resume: true);
            secondHalf.Run();

            var expected = straight.Metrics.Select(m => (m.Kind, m.Step, m.Loss, m.Value("memory_loss"), m.Value("mem2_qa_loss"))).ToArray();
            var actual = secondHalf.Metrics.Select(m => (m.Kind, m.Step, m.Loss, m.Value("memory_loss"), m.Value("mem2_qa_loss"))).ToArray();
            Assert.Equal(6, expected.Count(m => m.Kind == "train" && m.Item4 is > 0));
            Assert.Contains(expected, m => m.Kind == "eval" && m.Item5 is > 0); // the probe ran and was logged
            Assert.Equal(expected, actual);
            var a = Weights(straight);
            var b = Weights(secondHalf);
            Assert.All(a, p => Assert.Equal(0.0, TinyModels.MaxAbsDiff(p.Value, b[p.Key])));
        }
        finally
        {
            Directory.Delete(straightDir, recursive: true);
            Directory.Delete(resumedDir, recursive: true);
        }
    }

    [Fact]
    public void Episodes_alone_train_the_model_and_the_drawn_arrangements_tokens()
    {
        // Weight 1 and no decay: whatever moves, the episodes moved it.
        var options = Options(steps: 1, weight: 1) with { WeightDecay = 0 };
        using var model = TrainingFixtures.Model();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var trainer = new LmTrainer(model, options,
            compute => new MemoryEpisodes(compute, options.MemoryEpisodes!, options.Seed, TrainingFixtures.Mix().CorpusTokens, Questions));
        var episodes = trainer.Episodes!;
        var drawn = Enumerable.Range(0, options.GradientAccumulation).Select(micro => episodes.Draw(0, micro).Reader).ToHashSet();
        var tokensBefore = episodes.Parameters.Select(p => p.detach().clone()).ToList();

        trainer.TrainStep(new BatchSampler(TrainingFixtures.Mix(), options.SequenceLength, options.QaShare, options.Seed, padTokenId: 0));

        // Both passes train the same weights: the embedding, attention and output layers all moved.
        Assert.All(model.named_parameters(), p => Assert.True(TinyModels.MaxAbsDiff(before[p.name], p.parameter) > 0, $"{p.name} did not move"));
        var moved = episodes.Parameters.Select((p, i) => TinyModels.MaxAbsDiff(tokensBefore[i], p) > 0).ToList();
        var readers = episodes.Parameters.Select(p => drawn.Any(r => ReferenceEquals(r.MemoryTokens, p) || ReferenceEquals(r.TaskTokens, p))).ToList();
        Assert.Equal(readers, moved); // the arrangements drawn this step train; the others wait for their turn
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad)); // the episodes' compressors left the model trainable
    }

    [Fact]
    public void With_an_encoder_rank_the_drawn_arrangements_adapters_train_and_the_model_keeps_no_adapter()
    {
        var options = Options(steps: 1, weight: 1, encoderRank: 2) with { WeightDecay = 0 };
        using var model = TrainingFixtures.Model();
        var names = model.named_parameters().Select(p => p.name).ToList();
        using var trainer = new LmTrainer(model, options,
            compute => new MemoryEpisodes(compute, options.MemoryEpisodes!, options.Seed, TrainingFixtures.Mix().CorpusTokens, Questions));
        var episodes = trainer.Episodes!;
        var drawn = Enumerable.Range(0, options.GradientAccumulation).Select(micro => episodes.Draw(0, micro).Reader).ToHashSet();
        var adapters = episodes.Readers.SelectMany(r => r.AdapterParameters().Select(a => a.Parameter)).ToList();
        Assert.Equal(episodes.Readers.Count * 2 + adapters.Count, episodes.Parameters.Count); // tokens and adapters all train
        Assert.NotEmpty(adapters);
        var before = adapters.Select(p => p.detach().clone()).ToList();

        trainer.TrainStep(new BatchSampler(TrainingFixtures.Mix(), options.SequenceLength, options.QaShare, options.Seed, padTokenId: 0));

        // The drawn arrangements' adapters moved (LoRA's B first: A's gradient is zero while B is); no other's did.
        var moved = adapters.Select((p, i) => TinyModels.MaxAbsDiff(before[i], p) > 0).ToList();
        var ofDrawn = adapters.Select(p => drawn.Any(r => r.AdapterParameters().Any(a => ReferenceEquals(a.Parameter, p)))).ToList();
        Assert.True(moved.Zip(ofDrawn).Count(m => m.First) > 0, "no adapter moved");
        Assert.All(moved.Zip(ofDrawn), m => Assert.True(m.Second || !m.First, "an arrangement that was not drawn moved"));
        Assert.Equal(names, model.named_parameters().Select(p => p.name).ToList()); // adapters live in the compressors, not the model
    }

    [Fact]
    public void The_ratio_curriculum_opens_from_the_lowest_ratio_to_all()
    {
        var options = new MemoryEpisodeOptions { Ratios = [16, 4, 64], CurriculumSteps = 900 };
        Assert.Equal([4], options.RatiosAt(0));
        Assert.Equal([4], options.RatiosAt(299));
        Assert.Equal([4, 16], options.RatiosAt(300));
        Assert.Equal([4, 16, 64], options.RatiosAt(600));
        Assert.Equal([4, 16, 64], options.RatiosAt(100_000));
        Assert.Equal([4, 16, 64], (options with { CurriculumSteps = 0 }).RatiosAt(0));
    }

    [Fact]
    public void Episodes_are_a_pure_function_of_seed_step_and_micro_step()
    {
        using var a = new MemoryEpisodes(TrainingFixtures.Model(), Episodes, 5, TrainingFixtures.Mix().CorpusTokens, Questions);
        using var b = new MemoryEpisodes(TrainingFixtures.Model(seed: 3), Episodes, 5, TrainingFixtures.Mix().CorpusTokens, Questions);
        string Describe(MemoryEpisodes e, int step, int micro)
        {
            var (reader, _, examples) = e.Draw(step, micro);
            return $"{reader.Options.Policy}/{reader.Options.Kind}/{reader.Options.Ratio}: " +
                string.Join(" | ", examples.Select(x => $"{x.Decoder.Task} {string.Join(",", x.Context)} -> {string.Join(",", x.Decoder.Target)}"));
        }
        var draws = Enumerable.Range(0, 8).Select(step => Describe(a, step, 0)).ToList();
        Assert.Equal(draws, Enumerable.Range(0, 8).Select(step => Describe(b, step, 0)));
        Assert.True(draws.Distinct().Count() > 1);
        Assert.Contains("/2:", Describe(a, 0, 0)); // before the curriculum opens ratio 4, every episode is 2x
    }

    [Fact]
    public void Pooled_micro_steps_read_embeddings_memory_and_the_probe_measures_them()
    {
        var options = Episodes with { PooledShare = 0.5, KeyValuesShare = 1 };
        using var episodes = new MemoryEpisodes(TrainingFixtures.Model(), options, 5, TrainingFixtures.Mix().CorpusTokens, Questions);
        var draws = Enumerable.Range(0, 16).Select(step => episodes.Draw(step, 0)).ToList();
        Assert.Contains(draws, d => d.Pooled);
        Assert.Contains(draws, d => !d.Pooled);
        // Pooled memory is input embeddings whatever the draw's kind; the others keep key-values here.
        Assert.All(draws, d => Assert.Equal(d.Pooled ? MemoryKind.Embeddings : MemoryKind.KeyValues, d.Reader.Options.Kind));
        using var loss = episodes.Loss(draws.FindIndex(d => d.Pooled), 0);
        Assert.True(float.IsFinite(loss.Mean.item<float>()));

        var probe = episodes.Probe([TrainingFixtures.Mix().CorpusTokens[..16]], Questions, batchSize: 2);
        foreach (string key in new[] { "mem2_qa_loss", "mem2_kv_qa_loss", "mem2_pooled_qa_loss", "mem2_pooled_qa_other_loss", "mem4_pooled_passage_acc" })
            Assert.True(probe.ContainsKey(key), key);
        Assert.NotEqual(probe["mem2_qa_loss"], probe["mem2_pooled_qa_loss"]);
    }

    [Fact]
    public void The_probe_scores_as_memory_bounds_and_as_the_decoder_run_by_hand()
    {
        using var episodes = new MemoryEpisodes(TrainingFixtures.Model(), Episodes, 5, TrainingFixtures.Mix().CorpusTokens, Questions);
        int[][] windows = [TrainingFixtures.Mix().CorpusTokens[..12], TrainingFixtures.Mix().CorpusTokens[12..24], TrainingFixtures.Mix().CorpusTokens[24..36]];
        var probe = episodes.Probe(windows, Questions, batchSize: 2);
        var reader = episodes.Reader(MaskPolicy.Pic, MemoryKind.Embeddings, 2);

        // Reconstructing the same windows in the same batches: the same numbers to the bit.
        var compressed = MemoryBounds.Measure(reader, windows, batchSize: 2, measureCompressor: true).Compressed!;
        Assert.Equal(compressed.Loss, probe["mem2_ae_loss"]);
        Assert.Equal(compressed.Accuracy, probe["mem2_ae_acc"]);

        // The control: each question read from the other passage's memory.
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var swapped = new MemoryDecoder(reader).Loss(reader.Compress(Questions.Select(q => q.Context).ToList()),
            Questions.Select(q => q.Decoder).ToList(), memoryRows: [1, 0]);
        Assert.Equal(swapped.Mean.item<float>(), probe["mem2_qa_other_loss"], 5);
        Assert.NotEqual(probe["mem2_qa_loss"], probe["mem2_qa_other_loss"], 5);
    }

    [Fact]
    public void Passage_episodes_reconstruct_the_answering_passages()
    {
        using var episodes = new MemoryEpisodes(TrainingFixtures.Model(), Episodes with { QaShare = 0, PassageShare = 1 }, 5,
            TrainingFixtures.Mix().CorpusTokens, Questions);
        var drawn = Enumerable.Range(0, 6).SelectMany(step => episodes.Draw(step, 0).Examples).ToList();
        Assert.All(drawn, e =>
        {
            Assert.Equal(TaskToken.Autoencode, e.Decoder.Task);
            Assert.Equal(e.Context, e.Decoder.Target);
            Assert.Contains(Questions, q => q.Context.SequenceEqual(e.Context));
        });
        Assert.Equal(2, drawn.Select(e => e.Context.Count).Distinct().Count()); // both passages come up
    }

    [Fact]
    public void Options_without_episodes_keep_their_json_and_options_with_them_round_trip()
    {
        var plain = TrainingFixtures.Options();
        Assert.DoesNotContain("memory", plain.ToJson());
        var withEpisodes = Options(steps: 4);
        var read = TrainingOptions.FromJson(withEpisodes.ToJson());
        Assert.True(read.SameTrajectory(withEpisodes));
        Assert.False(read.SameTrajectory(withEpisodes with { MemoryEpisodes = Episodes with { Ratios = [2] } }));
        Assert.True(read.SameTrajectory(withEpisodes with { CheckpointMinutes = 1, LogEverySteps = 3 }));
    }

    [Theory]
    [InlineData(0.0, "MemoryEpisodes.Weight")]
    [InlineData(1.5, "MemoryEpisodes.Weight")]
    public void Bad_episode_options_are_refused_with_the_setting_named(double weight, string named)
    {
        var e = Assert.Throws<TrainingException>(() => (TrainingFixtures.Options() with { MemoryEpisodes = Episodes with { Weight = weight } }).Validate());
        Assert.Contains(named, e.Message);
        var ratio = Assert.Throws<TrainingException>(() => (Episodes with { Ratios = [3] }).Validate());
        Assert.Contains("chunk length 8", ratio.Message);
    }
}
