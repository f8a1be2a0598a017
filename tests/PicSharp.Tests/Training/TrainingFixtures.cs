using PicSharp.Modeling;
using PicSharp.Training;

namespace PicSharp.Tests.Training;

/// <summary>Tiny text, a character-level encoder and options for fast training tests.</summary>
static class TrainingFixtures
{
    public const int Eos = 2;

    // Ids 3..60 fit TinyModels' vocabulary of 61.
    public static readonly TokenEncoder CharEncoder = new(
        text => text.Select(c => 3 + c % 58).ToArray(), Eos, "chars-mod-58");

    public static readonly string[] Documents =
    [
        "the quick brown fox jumps over the lazy dog. ",
        "a stitch in time saves nine, said the tailor to the fox. ",
        "rivers run to the sea and the sea does not fill. ",
    ];

    public static readonly string[] QaTexts =
    [
        "Ada: Paris.\nQ: Ada?\nA: Paris",
        "Bo: 7.\nQ: Bo?\nA: 7",
    ];

    public static TokenizedMix Mix() => TokenizedMix.Build(
        Enumerable.Range(0, 4).SelectMany(_ => Documents).ToArray(), QaTexts, CharEncoder);

    public static TrainingOptions Options(int steps = 8, string dtype = "float32") => new()
    {
        LearningRate = 3e-3, WarmupSteps = 2, TotalSteps = steps, MicroBatchSize = 2, SequenceLength = 32,
        GradientAccumulation = 2, Seed = 5, Dtype = dtype, QaShare = 0.5, EvalEverySteps = 4, EvalSequences = 2,
        CheckpointMinutes = 60,
    };

    public static LlamaForCausalLM Model(long seed = 11)
    {
        var model = new LlamaForCausalLM(TinyModels.Config());
        model.InitializeWeights(seed);
        return model;
    }

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "picsharp-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
