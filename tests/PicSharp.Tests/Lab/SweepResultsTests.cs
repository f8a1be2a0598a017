using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Lab;
using PicSharp.Storage;
using PicSharp.Tests.Cli;
using PicSharp.Training;

namespace PicSharp.Tests.Lab;

public sealed class SweepResultsTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-sweep-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // An arm folder as scripts/pic-experiments.sh leaves it: qa/checkpoint (compressor folder + options.json),
    // metrics.jsonl of both stages, eval-facts-test.json.
    void Arm(string name, MaskPolicy policy, int ratio, long seed, double memoryF1, (double Seconds, double F1)[] pretrainDev, (double Seconds, double F1)[] qaDev,
        double? answerLoss = null, double controlGain = 0.4, double[]? qaDevLoss = null, double? autoencodingGain = null,
        int? pretrainProbeWindows = 48)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        // What `pic memory-bounds --compressor --json` writes after pretraining (floor 4.1, ceiling 2.9).
        if (autoencodingGain is { } gain)
            File.WriteAllText(Path.Combine(dir, SweepResults.BoundsFileName("pretrain")), new JsonObject
            {
                ["window"] = 256, ["windows"] = 64,
                ["floor"] = new JsonObject { ["accuracy"] = 0.29, ["loss"] = 4.1 },
                ["ceiling"] = new JsonObject { ["accuracy"] = 0.48, ["loss"] = 2.9 },
                ["compressor"] = new JsonObject { ["loss"] = 4.0, ["other_window"] = new JsonObject { ["loss"] = 4.0 + gain } },
            }.ToJsonString());
        var options = new CompressorTrainingOptions
        {
            Compressor = new CompressorOptions { Policy = policy, Ratio = ratio, ChunkLength = 64 },
            Seed = seed,
        };
        string checkpoint = Path.Combine(dir, "qa", CompressorRun.CheckpointDirName);
        Directory.CreateDirectory(checkpoint);
        using (var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), options.Compressor))
            CompressorFolder.Save(compressor, checkpoint);
        File.WriteAllText(Path.Combine(checkpoint, CompressorRun.OptionsFileName), options.ToJson());
        // The pretraining checkpoint's options say how many held-out windows each pretraining probe scored.
        if (pretrainProbeWindows is { } windows)
        {
            string pretrainCheckpoint = Path.Combine(dir, "pretrain", CompressorRun.CheckpointDirName);
            Directory.CreateDirectory(pretrainCheckpoint);
            File.WriteAllText(Path.Combine(pretrainCheckpoint, CompressorRun.OptionsFileName), (options with { EvalSamples = windows }).ToJson());
        }
        foreach (var (stage, points) in new[] { ("pretrain", pretrainDev), ("qa", qaDev) })
        {
            Directory.CreateDirectory(Path.Combine(dir, stage));
            var log = new MetricsLog(Path.Combine(dir, stage, CompressorRun.MetricsFileName));
            for (int i = 0; i < points.Length; i++)
                log.Append(new MetricsRecord("eval", i * 10, 0, points[i].Seconds + 1, stage == "qa" && qaDevLoss is not null ? qaDevLoss[i] : 5.0 - i, Values: new Dictionary<string, double>
                    { ["accuracy"] = 0.3, ["train_s"] = points[i].Seconds, ["exact_match"] = points[i].F1 / 2, ["f1"] = points[i].F1 }));
        }
        JsonNode Mode(string mode, double f1) => new JsonObject { ["mode"] = mode, ["answered"] = 10, ["exact_match"] = f1 / 2, ["f1"] = f1, ["answer_loss"] = answerLoss, ["seconds"] = 1.0 };
        // Ten questions per arm, each answered from memory with the arm's F1 (and answer loss, alternating ±0.1 around
        // the arm's), so paired differences are exact.
        // With answer losses comes the control: another passage's memory, controlGain nats/token worse per question.
        File.WriteAllLines(Path.Combine(dir, "predictions-facts-test.jsonl"), Enumerable.Range(0, 10).SelectMany(q => new[]
        {
            new JsonObject { ["mode"] = "memory", ["id"] = $"q{q}", ["f1"] = memoryF1, ["answer_loss"] = answerLoss + (q % 2 == 0 ? 0.1 : -0.1) },
            new JsonObject { ["mode"] = "memory-other", ["id"] = $"q{q}", ["f1"] = 0.0, ["answer_loss"] = answerLoss + (q % 2 == 0 ? 0.1 : -0.1) + controlGain },
        }).Select(r => r.ToJsonString()));
        File.WriteAllText(Path.Combine(dir, "eval-facts-test.json"), new JsonObject
        {
            ["modes"] = new JsonArray(Mode("full", 0.9), Mode("memory", memoryF1), Mode("none", 0.05)),
        }.ToJsonString());
    }

    [Fact]
    public void Arms_are_read_scored_over_seeds_and_timed_against_globals_best()
    {
        // global's best dev F1 (0.4) comes at 300 s (200 of pretraining + 100 of QA); pic passes it at 150 s. global's
        // lowest dev answer loss (2.5) comes at 300 s too; pic's first QA probe (at 100 s) is already below it.
        Arm("global-16-s1", MaskPolicy.Global, 16, 1, 0.30, [(0, 0.0), (200, 0.1)], [(0, 0.1), (100, 0.4), (200, 0.35)], answerLoss: 2.5, qaDevLoss: [3.0, 2.5, 2.6], autoencodingGain: 0.065);
        Arm("pic-16-s1", MaskPolicy.Pic, 16, 1, 0.50, [(0, 0.0), (100, 0.2)], [(0, 0.2), (50, 0.45)], answerLoss: 2.0, qaDevLoss: [2.4, 2.3], autoencodingGain: 0.124);
        Arm("pic-16-s2", MaskPolicy.Pic, 16, 2, 0.40, [(0, 0.0)], [(0, 0.0)], pretrainProbeWindows: null);
        // A memory no better than another passage's, by a hair: the gain prints as +0.000, never "-+0.000".
        Arm("global-4-s1", MaskPolicy.Global, 4, 1, 0.10, [(0, 0.0)], [(0, 0.1)], answerLoss: 3.0, controlGain: -0.0002, pretrainProbeWindows: 32);
        Directory.CreateDirectory(Path.Combine(root, "unfinished", "pretrain"));
        // pic-16-s1's longer QA stage (QA_MORE=1000): its own compressor and scores, apart from the standard arms.
        string longer = Path.Combine(root, "pic-16-s1", "qa-more1000");
        Directory.CreateDirectory(Path.Combine(longer, CompressorRun.CheckpointDirName));
        foreach (string file in Directory.GetFiles(Path.Combine(root, "pic-16-s1", "qa", CompressorRun.CheckpointDirName)))
            File.Copy(file, Path.Combine(longer, CompressorRun.CheckpointDirName, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(longer, "eval-facts-test.json"), new JsonObject
        {
            ["modes"] = new JsonArray(new JsonObject { ["mode"] = "memory", ["answered"] = 10, ["exact_match"] = 0.35, ["f1"] = 0.7 }),
        }.ToJsonString());

        var arms = SweepResults.Read(root);
        Assert.Equal(["global-16-s1", "global-4-s1", "pic-16-s1", "pic-16-s1+qa-more1000", "pic-16-s2"], arms.Select(a => a.Name));
        var longerArm = arms.Single(a => a.Name == "pic-16-s1+qa-more1000");
        Assert.Equal(("embeddings + 1000 more QA steps", longer, 0.7), (longerArm.Kind, longerArm.Folder, longerArm.Sets["facts-test"]["memory"].F1));
        arms = [.. arms.Where(a => a != longerArm)];
        ArmResult Named(string name) => arms.Single(a => a.Name == name);
        Assert.Equal(("pic", "embeddings", 16, 2L), (Named("pic-16-s2").Policy, Named("pic-16-s2").Kind, Named("pic-16-s2").Ratio, Named("pic-16-s2").Seed));
        Assert.Equal([0, 100, 100, 150], Named("pic-16-s1").Dev.Select(p => p.TrainSeconds));
        Assert.Equal([null, null, 2.4, 2.3], Named("pic-16-s1").Dev.Select(p => p.AnswerLoss)); // pretraining probes score autoencoding

        var scores = SweepResults.MemoryScores(arms, "facts-test");
        Assert.Equal(0.45, scores[("pic", "embeddings", 16)].F1.Mean, 9);
        Assert.Equal(Math.Sqrt(0.005), scores[("pic", "embeddings", 16)].F1.Std, 9);
        Assert.Equal(1, scores[("global", "embeddings", 16)].F1.Seeds);
        Assert.Equal((150.0, 300.0), SweepResults.TimeToGlobalBest(arms, "embeddings", 16));
        Assert.Null(SweepResults.TimeToGlobalBest(arms, "embeddings", 64));
        Assert.Equal((100.0, 300.0), SweepResults.TimeToGlobalBest(arms, "embeddings", 16, LearningCurve.DevAnswerLoss));
        Assert.Null(SweepResults.TimeToGlobalBest(arms, "embeddings", 4, LearningCurve.DevAnswerLoss)); // no pic arm at 4x
        // Held-out autoencoding loss falls by 1 per pretraining probe in both: global's lowest (4.0) at 200 s, pic's at 100 s.
        Assert.Equal([(0, 0.0, 5.0), (10, 100.0, 4.0)], Named("pic-16-s1").PretrainProbes);
        Assert.Equal((100.0, 200.0), SweepResults.TimeToGlobalBest(arms, "embeddings", 16, LearningCurve.HeldOutAutoencodingLoss));
        Assert.Equal(48, Named("pic-16-s1").PretrainProbeWindows);
        Assert.Null(Named("pic-16-s2").PretrainProbeWindows);

        string report = Path.Combine(root, "report");
        var result = PicCli.RunLab("experiments-report", "--runs", root, "--out", report);
        Assert.True(result.ExitCode == 0, result.Error);
        string markdown = File.ReadAllText(Path.Combine(report, "results.md"));
        Assert.Contains("| pic | embeddings | 16 | 2 | 0.225 ± 0.035 | 0.450 ± 0.071 |", markdown);
        Assert.Contains("| pic | embeddings + 1000 more QA steps | 16 | 1 | 0.350 | 0.700 |", markdown);
        Assert.Contains("16x F1 0.450 vs 0.300, paired difference +0.200 ± 0.000 over 10 questions: pic better; " +
            "gold-answer loss from memory, paired difference -0.500 ± 0.000 nats/token over 10 questions: pic better", markdown);
        Assert.Contains("| global-16-s1 | global | embeddings | 16 | 1 | 10 | 0.450 / 0.900 | 0.150 / 0.300 | - | 0.025 / 0.050 | 2.500 / 2.500 / - / 2.500 | +0.400 ± 0.000 |", markdown);
        Assert.Contains("**Wall clock to global's lowest dev answer loss at 16x (embeddings)** (the QA stage's probe; the paper's claim on a graded measure): pic 100 s, global 300 s, ratio 0.333.", markdown);
        Assert.Contains("| - | 0.025 / 0.050 | - / - / - / - | - |", markdown); // pic-16-s2 was evaluated without answer losses or the control
        Assert.Equal(0.4, SweepResults.OwnMemoryGain(Named("global-16-s1"), "facts-test")!.Mean, 9);
        Assert.Null(SweepResults.OwnMemoryGain(Named("pic-16-s2"), "facts-test"));
        Assert.Contains("| 3.000 / 3.000 / - / 3.000 | +0.000 ± 0.000 |", markdown);
        Assert.Contains("pic 150 s, global 300 s, ratio 0.500", markdown);
        Assert.Contains("**Wall clock to global's lowest held-out autoencoding loss (embeddings)** (the pretraining stage's probe, 32-48 windows; " +
            "the paper's claim on the one curve that moves at every ratio): 16x pic 100 s, global 200 s, ratio 0.500.", markdown);
        Assert.Equal(0.124, Named("pic-16-s1").Bounds["pretrain"].Gain, 9);
        Assert.Empty(Named("pic-16-s2").Bounds);
        Assert.Contains("| pic-16-s1 | embeddings | 16 | pretrain | 4.100 | 4.000 | 4.124 | 2.900 | +0.124 |", markdown);
        Assert.Contains("16x pic 0.124 vs global 0.065.", markdown); // seed 2 has no global arm, so no pair
        Assert.All(new[] { "f1-vs-ratio.png", "dev-f1-16x.png", "ae-loss.png" }, png => Assert.True(new FileInfo(Path.Combine(report, png)).Length > 1000));
        Assert.Equal(1, PicCli.RunLab("experiments-report", "--runs", Path.Combine(root, "unfinished"), "--out", report).ExitCode);
    }

    [Fact]
    public void A_sweep_without_16x_arms_gets_no_empty_learning_speed_plot()
    {
        Arm("pic-64-s1", MaskPolicy.Pic, 64, 1, 0.08, [(0, 0.0)], [(0, 0.1)], answerLoss: 2.9);
        // global's held-out autoencoding loss falls to 4.0 at its second probe; pic's only probe stays at 5.0.
        Arm("global-64-s1", MaskPolicy.Global, 64, 1, 0.07, [(0, 0.0), (100, 0.0)], [(0, 0.1)], answerLoss: 2.9);
        string report = Path.Combine(root, "report");
        var result = PicCli.RunLab("experiments-report", "--runs", root, "--out", report);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("no dev-f1-16x.png", result.Output);
        Assert.False(File.Exists(Path.Combine(report, "dev-f1-16x.png")));
        Assert.True(File.Exists(Path.Combine(report, "ae-loss.png")));
        Assert.Null(SweepResults.TimeToGlobalBest(SweepResults.Read(root), "embeddings", 64, LearningCurve.HeldOutAutoencodingLoss));
        Assert.Contains("64x not reached (pic never got to global's lowest", File.ReadAllText(Path.Combine(report, "results.md")));
    }

    [Fact]
    public void A_paired_difference_within_two_standard_errors_is_no_measurable_difference()
    {
        var noise = PairedDifference.Of([0.5, -0.5, 0.5, -0.5, 0.25]);
        Assert.Equal(0.05, noise.Mean, 9);
        Assert.Equal(Math.Sqrt(0.2625 / 5), noise.StandardError, 9);
        Assert.StartsWith("no measurable difference", noise.Verdict);
        Assert.Equal("global better", PairedDifference.Of([-0.5, -0.4, -0.6, -0.5]).Verdict);
        Assert.Equal("pic better", PairedDifference.Of([-0.5, -0.4, -0.6, -0.5], lowerIsBetter: true).Verdict);
    }
}
