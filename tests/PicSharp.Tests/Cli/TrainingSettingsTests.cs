using System.CommandLine;
using System.Globalization;
using PicSharp.Cli.Commands;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Training;

namespace PicSharp.Tests.Cli;

/// <summary>Each training setting declared once: its flag reads and writes one field, and validation names the field
/// that the command line translates to the flag.</summary>
public sealed class TrainingSettingsTests
{
    // Every field a flag sets, away from its default.
    static readonly CompressorTrainingOptions CompressorChanged = new()
    {
        Compressor = new CompressorOptions
        {
            Ratio = 8, ChunkLength = 32, Policy = MaskPolicy.PicCausalText, Placement = MemoryPlacement.Appended, Positions = MemoryPositions.Uniform,
            Kind = MemoryKind.KeyValues, Lora = new() { Rank = 3, Alpha = 5, TargetModules = ["q_proj", "v_proj"] },
        },
        Objective = CompressorObjective.Qa, MemoryInit = MemoryInit.VocabMean, LearningRate = 1e-4, MemoryLearningRate = 2e-4,
        MinLearningRateRatio = 0.2, WarmupSteps = 7, TotalSteps = 70, MicroBatchSize = 3, GradientAccumulation = 4, MaxGradNorm = 0.5, WeightDecay = 0.01,
        Seed = 77, LmShare = 0.25, WindowLength = 100, ContinuationLength = 20, CheckpointMinutes = 3, LogEverySteps = 2, EvalEverySteps = 9, EvalSamples = 5,
    };

    static readonly TrainingOptions PretrainChanged = new()
    {
        LearningRate = 2e-4, MinLearningRateRatio = 0.3, WarmupSteps = 9, TotalSteps = 90, MicroBatchSize = 3, SequenceLength = 128, GradientAccumulation = 2,
        MaxGradNorm = 0.7, WeightDecay = 0.05, Seed = 8, Dtype = "float32", QaShare = 0.2, CheckpointMinutes = 4, LogEverySteps = 3, EvalEverySteps = 11,
        EvalSequences = 6,
        MemoryEpisodes = new MemoryEpisodeOptions
        {
            Weight = 0.3, Ratios = [2, 8], CurriculumSteps = 5, EpisodesPerMicroBatch = 3, PassageShare = 0.1, Positions = MemoryPositions.Uniform,
            PooledShare = 0.2, GlobalShare = 0.6, KeyValuesShare = 0.3, QaShare = 0.5, EncoderLoraRank = 4, LearningRate = 5e-4,
        },
    };

    static ParseResult Parse<TOptions>(SettingList<TOptions> settings, IEnumerable<string> args) where TOptions : ITrainingRunOptions<TOptions>
    {
        var command = new Command("train");
        foreach (var option in settings.Options) command.Options.Add(option);
        var parse = command.Parse([.. args]);
        Assert.Empty(parse.Errors);
        return parse;
    }

    // The command line that gives `options`: each flag with the value its setting reads.
    static TOptions RoundTrip<TOptions>(SettingList<TOptions> settings, TOptions options) where TOptions : ITrainingRunOptions<TOptions> =>
        settings.Read(Parse(settings, settings.All.SelectMany(s => new[] { s.Option.Name, Convert.ToString(s.Read(options), CultureInfo.InvariantCulture)! })));

    [Fact]
    public void Every_flag_writes_the_field_it_reads_and_no_flag_is_the_record_defaults()
    {
        Assert.Equal(CompressorChanged.ToJson(), RoundTrip(TrainCompressorCommand.Settings(), CompressorChanged).ToJson());
        Assert.Equal(PretrainChanged.ToJson(), RoundTrip(PretrainCommands.Settings(), PretrainChanged).ToJson());
        var compressor = TrainCompressorCommand.Settings();
        Assert.Equal(new CompressorTrainingOptions().ToJson(), compressor.Read(Parse(compressor, [])).ToJson());
        var pretrain = PretrainCommands.Settings();
        Assert.Equal(new TrainingOptions().ToJson(), pretrain.Read(Parse(pretrain, [])).ToJson());
    }

    [Fact]
    public void A_resume_refuses_each_given_setting_the_checkpoint_contradicts_but_not_the_intervals()
    {
        var settings = TrainCompressorCommand.Settings();
        var given = settings.Given(Parse(settings, ["--ratio", "2", "--lr", "0.5", "--log-every", "1", "--checkpoint-minutes", "1"]));
        var requested = CompressorChanged with { Compressor = CompressorChanged.Compressor with { Ratio = 2 }, LearningRate = 0.5, LogEverySteps = 1, CheckpointMinutes = 1 };
        string refusal = Assert.Throws<InvalidInputException>(() => given.Resume(requested, CompressorChanged, "start anew")).Message;
        Assert.Contains("--ratio 2 (checkpoint: 8), --lr 0.5 (checkpoint: 0.0001); leave them out, or start anew", refusal);
        var resumed = settings.Given(Parse(settings, ["--log-every", "1"])).Resume(requested, CompressorChanged, "start anew");
        Assert.Equal((8, 1e-4, 1, 1.0), (resumed.Compressor.Ratio, resumed.LearningRate, resumed.LogEverySteps, resumed.CheckpointMinutes));
    }

    public static TheoryData<CompressorTrainingOptions, string> BadCompressorOptions => new()
    {
        { CompressorChanged with { LearningRate = 0 }, "--lr must be positive, got 0" },
        { CompressorChanged with { MemoryLearningRate = -1 }, "--memory-lr must be positive, got -1" },
        { CompressorChanged with { MinLearningRateRatio = 2 }, "--min-lr-ratio must be in [0, 1], got 2" },
        { CompressorChanged with { WarmupSteps = -1 }, "--warmup must be ≥ 0, got -1" },
        { CompressorChanged with { TotalSteps = 0 }, "--steps must be positive, got 0" },
        { CompressorChanged with { MicroBatchSize = 0 }, "--batch must be positive, got 0" },
        { CompressorChanged with { GradientAccumulation = 0 }, "--accumulation must be positive, got 0" },
        { CompressorChanged with { MaxGradNorm = 0 }, "--clip must be positive, got 0" },
        { CompressorChanged with { WeightDecay = -1 }, "--weight-decay must be ≥ 0, got -1" },
        { CompressorChanged with { LmShare = 2 }, "--lm-share must be in [0, 1], got 2" },
        { CompressorChanged with { WindowLength = 0 }, "--window must be positive, got 0" },
        { CompressorChanged with { ContinuationLength = 0 }, "--continuation must be positive, got 0" },
        { CompressorChanged with { CheckpointMinutes = 0 }, "--checkpoint-minutes must be positive, got 0" },
        { CompressorChanged with { LogEverySteps = 0 }, "--log-every must be positive, got 0" },
        { CompressorChanged with { EvalEverySteps = 0 }, "--eval-every must be positive, got 0" },
        { CompressorChanged with { EvalSamples = -1 }, "--eval-samples must be ≥ 0, got -1" },
    };

    [Theory]
    [MemberData(nameof(BadCompressorOptions))]
    public void Compressor_validation_names_the_field_and_the_command_line_its_flag(CompressorTrainingOptions options, string inFlags)
    {
        string message = Assert.Throws<TrainingException>(options.Validate).Message;
        Assert.DoesNotContain("--", message);
        Assert.Equal(inFlags, Assert.Throws<InvalidInputException>(() => TrainCompressorCommand.Settings().Validate(options)).Message);
    }

    public static TheoryData<TrainingOptions, string> BadPretrainOptions => new()
    {
        { PretrainChanged with { LearningRate = 0 }, "--lr must be positive, got 0" },
        { PretrainChanged with { SequenceLength = 1 }, "--seq-len must be > 1, got 1" },
        { PretrainChanged with { GradientAccumulation = 0 }, "--accum must be positive, got 0" },
        { PretrainChanged with { MaxGradNorm = 0 }, "--max-grad-norm must be positive, got 0" },
        { PretrainChanged with { QaShare = -0.5 }, "--qa-share must be in [0, 1], got -0.5" },
        { PretrainChanged with { EvalSequences = -1 }, "--eval-sequences must be ≥ 0, got -1" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { Weight = 0 } }, "--memory-weight must be in (0, 1], got 0" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { Ratios = [3] } }, "--memory-ratios must be positive divisors of the chunk length 64, got [3]" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { EpisodesPerMicroBatch = 0 } }, "--memory-batch must be positive, got 0" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { KeyValuesShare = 3 } }, "--memory-kv-share must be in [0, 1], got 3" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { QaShare = 3 } }, "--memory-qa-share must be in [0, 1], got 3" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { EncoderLoraRank = -1 } }, "--memory-encoder-lora-rank must be ≥ 0, got -1" },
        { PretrainChanged with { MemoryEpisodes = PretrainChanged.MemoryEpisodes! with { LearningRate = 0 } }, "--memory-lr must be positive, got 0" },
    };

    [Theory]
    [MemberData(nameof(BadPretrainOptions))]
    public void Pretrain_validation_names_the_field_and_the_command_line_its_flag(TrainingOptions options, string inFlags)
    {
        string message = Assert.Throws<TrainingException>(options.Validate).Message;
        Assert.DoesNotContain("--", message);
        Assert.Equal(inFlags, Assert.Throws<InvalidInputException>(() => PretrainCommands.Settings().Validate(options)).Message);
    }
}
