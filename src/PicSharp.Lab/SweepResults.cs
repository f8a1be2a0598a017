using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.Lab;

/// <summary>EM/F1 of one mode (full, memory, none) on one test set, as `eval-lm --json` wrote them, and the gold
/// answers' mean loss (nats/token) when the evaluation scored it.</summary>
public sealed record ModeScore(double ExactMatch, double F1, int Answered, double? AnswerLoss = null);

/// <summary>What a paired comparison compares per question: F1 of the answer (higher is better) or the gold answer's
/// teacher-forced loss (lower is better; graded where answers sit at the F1 floor).</summary>
public enum PairedMetric { F1, AnswerLoss }

/// <summary>One probe of an arm's dev curve against the training wall clock summed over its stages: F1 of answers
/// from memory on the dev sample, and in the QA stage the dev questions' gold-answer loss from memory (teacher-forced,
/// nats/token; pretraining probes score autoencoding instead, so they have none).</summary>
public sealed record DevPoint(double TrainSeconds, double F1, double? AnswerLoss = null);

/// <summary>
/// pic − global of a per-question metric from memory, over the questions (and seeds) both arms answered: the mean, its
/// standard error, and how many pairs. The arms of one seed answer the same questions, so the pairing removes the
/// spread between questions and leaves the spread of the difference.
/// </summary>
/// <param name="LowerIsBetter">the metric is a loss: a negative difference favours pic.</param>
public sealed record PairedDifference(double Mean, double StandardError, int Pairs, bool LowerIsBetter = false)
{
    public static PairedDifference Of(IReadOnlyList<double> differences, bool lowerIsBetter = false)
    {
        var stat = SeedStat.Of(differences);
        return new PairedDifference(stat.Mean, stat.Std / Math.Sqrt(differences.Count), differences.Count, lowerIsBetter);
    }

    /// <summary>"pic better" / "global better" when the mean is more than two standard errors from zero.</summary>
    public string Verdict
    {
        get
        {
            double picAdvantage = LowerIsBetter ? -Mean : Mean;
            return picAdvantage - 2 * StandardError > 0 ? "pic better"
                : picAdvantage + 2 * StandardError < 0 ? "global better"
                : "no measurable difference (within 2 standard errors)";
        }
    }
}

/// <summary>
/// One finished arm of the sweep (a folder of scripts/pic-experiments.sh): what it is, its scores per test set and
/// mode, its dev curve over both stages and its pretraining held-out autoencoding curve (step, training seconds, loss).
/// </summary>
/// <param name="Kind">the memory kind, with " + N more QA steps" for a longer QA stage, so such arms are never averaged
/// or compared with the standard recipe's.</param>
/// <param name="Folder">the folder of the arm's eval-SET.json and predictions-SET.jsonl (ARM, or ARM/qa-moreN).</param>
/// <param name="Bounds">autoencoding bounds per stage ("pretrain", "qa") where the sweep measured them.</param>
/// <param name="PretrainProbeWindows">held-out windows per pretraining probe (the pretraining checkpoint's
/// --eval-samples); null when the arm has no pretraining checkpoint to read it from.</param>
public sealed record ArmResult(string Name, string Policy, string Kind, int Ratio, long Seed,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, ModeScore>> Sets,
    IReadOnlyList<DevPoint> Dev, IReadOnlyList<(int Step, double TrainSeconds, double Loss)> PretrainProbes, string Folder,
    IReadOnlyDictionary<string, AutoencodingBounds> Bounds, int? PretrainProbeWindows);

/// <summary>Mean and sample standard deviation over seeds (0 with one seed).</summary>
public sealed record SeedStat(double Mean, double Std, int Seeds)
{
    public static SeedStat Of(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double std = values.Count < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SeedStat(mean, std, values.Count);
    }
}

/// <summary>
/// Reads a sweep's arm folders and computes what the pic-vs-global sweep asks of them: scores per (policy, kind, ratio) with their
/// spread over seeds, and the three claims of the paper — pic ≥ global at every ratio, the relative gain at 64x, and
/// the wall clock pic needs at 16x to reach global's best dev F1 (and, graded where F1 sits at its floor, global's
/// lowest dev answer loss and held-out autoencoding loss).
/// </summary>
public static class SweepResults
{
    /// <summary>
    /// Every arm under <paramref name="runsDir"/> with a QA checkpoint and at least one eval-SET.json, and each arm's
    /// longer QA stage (ARM/qa-moreN, `QA_MORE=N`) as an arm of its own, "ARM+qa-moreN", whose kind says "+ N more QA
    /// steps" so it is never averaged or paired with the arms of the standard recipe.
    /// </summary>
    public static IReadOnlyList<ArmResult> Read(string runsDir)
    {
        if (!Directory.Exists(runsDir)) throw new DirectoryNotFoundException($"sweep folder {runsDir} not found");
        var arms = new List<ArmResult>();
        foreach (string dir in Directory.GetDirectories(runsDir).Order())
        {
            string name = Path.GetFileName(dir);
            if (ReadArm(name, dir, Path.Combine(dir, "qa"), dir, "") is { } arm) arms.Add(arm);
            foreach (string more in Directory.GetDirectories(dir, "qa-more*").Order())
            {
                string stage = Path.GetFileName(more);
                if (ReadArm($"{name}+{stage}", dir, more, more, $" + {stage["qa-more".Length..]} more QA steps") is { } longer) arms.Add(longer);
            }
        }
        return arms;
    }

    // One arm: its compressor from QA_STAGE/checkpoint, its scores from EVAL_DIR, its pretraining curve from ARM_DIR.
    static ArmResult? ReadArm(string name, string armDir, string qaStage, string evalDir, string kindSuffix)
    {
        string? checkpoint = AtomicFolder.Find(Path.Combine(qaStage, CompressorRun.CheckpointDirName));
        var evals = Directory.GetFiles(evalDir, "eval-*.json").Order().ToList();
        if (checkpoint is null || evals.Count == 0) return null;
        var options = CompressorFolder.ReadOptions(checkpoint);
        long seed = CompressorRun.ReadOptionsIn(checkpoint).Seed;
        var sets = evals.ToDictionary(
            file => Path.GetFileNameWithoutExtension(file)["eval-".Length..],
            file => ReadModes(file));
        string kind = KebabCase.Name(options.Kind) + kindSuffix;
        // The pretraining checkpoint is the arm folder's; the QA one is the stage's whose scores these are.
        var bounds = new Dictionary<string, AutoencodingBounds>();
        foreach (var (stage, dir) in new[] { ("pretrain", armDir), ("qa", evalDir) })
            if (File.Exists(Path.Combine(dir, BoundsFileName(stage)))) bounds[stage] = AutoencodingBounds.Read(Path.Combine(dir, BoundsFileName(stage)));
        string pretrain = Path.Combine(armDir, "pretrain");
        string? pretrainCheckpoint = AtomicFolder.Find(Path.Combine(pretrain, CompressorRun.CheckpointDirName));
        int? probeWindows = pretrainCheckpoint is null ? null : CompressorRun.ReadOptionsIn(pretrainCheckpoint).EvalSamples;
        return new ArmResult(name, options.Policy.Name(), kind, options.Ratio, seed,
            sets, DevCurve(armDir), Probes(pretrain), evalDir, bounds, probeWindows);
    }

    /// <summary>The memory-bounds JSON the sweep writes after a stage: bounds-pretrain.json, bounds-qa.json.</summary>
    public static string BoundsFileName(string stage) => $"bounds-{stage}.json";

    /// <summary>
    /// The autoencoding own-memory gain (<see cref="AutoencodingBounds.Gain"/>) of pic and of global after
    /// <paramref name="stage"/>, over the seeds where both were measured; null when no seed has both.
    /// </summary>
    public static (SeedStat Pic, SeedStat Global)? AutoencodingGains(IReadOnlyList<ArmResult> arms, string kind, int ratio, string stage)
    {
        var pairs = PairsBySeed(arms, kind, ratio)
            .Where(p => p.Pic.Bounds.ContainsKey(stage) && p.Global.Bounds.ContainsKey(stage)).ToList();
        return pairs.Count == 0 ? null
            : (SeedStat.Of(pairs.Select(p => p.Pic.Bounds[stage].Gain).ToList()), SeedStat.Of(pairs.Select(p => p.Global.Bounds[stage].Gain).ToList()));
    }

    static IReadOnlyDictionary<string, ModeScore> ReadModes(string file)
    {
        var modes = JsonNode.Parse(File.ReadAllText(file))?["modes"]?.AsArray()
            ?? throw new InvalidDataException($"{file}: no 'modes' (not an eval-lm --json file)");
        return modes.ToDictionary(m => m!["mode"]!.GetValue<string>(),
            m => new ModeScore(m!["exact_match"]!.GetValue<double>(), m["f1"]!.GetValue<double>(), m["answered"]!.GetValue<int>(),
                m["answer_loss"]?.GetValue<double>()));
    }

    static IReadOnlyList<MetricsRecord> Evals(string stageDir)
    {
        string path = Path.Combine(stageDir, CompressorRun.MetricsFileName);
        return File.Exists(path) ? new MetricsLog(path).ReadAll().Where(m => m.Kind == "eval").ToList() : [];
    }

    // The dev curve over both stages: the QA stage's clock continues where pretraining's ended.
    static IReadOnlyList<DevPoint> DevCurve(string armDir)
    {
        var pretrain = Evals(Path.Combine(armDir, "pretrain"));
        double offset = pretrain.Select(m => m.Value("train_s") ?? 0).DefaultIfEmpty(0).Max();
        return pretrain.Where(m => m.Value("f1") is not null).Select(m => new DevPoint(m.Value("train_s") ?? 0, m.Value("f1")!.Value))
            .Concat(Evals(Path.Combine(armDir, "qa")).Where(m => m.Value("f1") is not null)
                .Select(m => new DevPoint(offset + (m.Value("train_s") ?? 0), m.Value("f1")!.Value, m.Loss)))
            .ToList();
    }

    static IReadOnlyList<(int Step, double TrainSeconds, double Loss)> Probes(string stageDir) =>
        Evals(stageDir).Select(m => (m.Step, m.Value("train_s") ?? 0, m.Loss)).ToList();

    /// <summary>Memory-mode score on <paramref name="set"/> per (policy, kind, ratio), over seeds.</summary>
    public static IReadOnlyDictionary<(string Policy, string Kind, int Ratio), (SeedStat ExactMatch, SeedStat F1)> MemoryScores(
        IReadOnlyList<ArmResult> arms, string set) =>
        arms.Where(a => a.Sets.TryGetValue(set, out var modes) && modes.ContainsKey("memory"))
            .GroupBy(a => (a.Policy, a.Kind, a.Ratio))
            .ToDictionary(g => g.Key, g => (
                SeedStat.Of(g.Select(a => a.Sets[set]["memory"].ExactMatch).ToList()),
                SeedStat.Of(g.Select(a => a.Sets[set]["memory"].F1).ToList())));

    /// <summary>The pic and global arms of one (kind, ratio) that share a seed: the pairs every claim compares.</summary>
    static IEnumerable<(ArmResult Pic, ArmResult Global)> PairsBySeed(IReadOnlyList<ArmResult> arms, string kind, int ratio)
    {
        var ofRatio = arms.Where(a => a.Kind == kind && a.Ratio == ratio).ToList();
        foreach (var global in ofRatio.Where(a => a.Policy == "global"))
            if (ofRatio.FirstOrDefault(a => a.Policy == "pic" && a.Seed == global.Seed) is { } pic)
                yield return (pic, global);
    }

    /// <summary>
    /// pic − global <paramref name="metric"/> from memory on <paramref name="set"/>, paired by seed and question id
    /// (predictions-SET.jsonl of each arm); null when no seed has both arms with the metric in their predictions.
    /// </summary>
    public static PairedDifference? MemoryDifference(IReadOnlyList<ArmResult> arms, string set, string kind, int ratio, PairedMetric metric)
    {
        var differences = new List<double>();
        foreach (var (pic, global) in PairsBySeed(arms, kind, ratio))
            differences.AddRange(Paired(ValuesById(pic, set, "memory", metric), ValuesById(global, set, "memory", metric)));
        return differences.Count == 0 ? null : PairedDifference.Of(differences, lowerIsBetter: metric == PairedMetric.AnswerLoss);
    }

    /// <summary>
    /// What an arm's memory tells about its own passage: the gold answer's loss read from another passage's memory (the
    /// `memory-other` control) minus from its own, per question; positive when the own memory helps. Null when the
    /// arm's predictions have no control.
    /// </summary>
    public static PairedDifference? OwnMemoryGain(ArmResult arm, string set)
    {
        var differences = Paired(ValuesById(arm, set, "memory-other", PairedMetric.AnswerLoss), ValuesById(arm, set, "memory", PairedMetric.AnswerLoss)).ToList();
        return differences.Count == 0 ? null : PairedDifference.Of(differences);
    }

    static IEnumerable<double> Paired(Dictionary<string, double> first, Dictionary<string, double> second) =>
        first.Where(q => second.ContainsKey(q.Key)).Select(q => q.Value - second[q.Key]);

    // The metric of every prediction of one mode that has it (evaluations before answer losses have none).
    static Dictionary<string, double> ValuesById(ArmResult arm, string set, string mode, PairedMetric metric)
    {
        string path = Path.Combine(arm.Folder, $"predictions-{set}.jsonl");
        var byId = new Dictionary<string, double>();
        if (!File.Exists(path)) return byId;
        string field = metric == PairedMetric.F1 ? "f1" : "answer_loss";
        foreach (string line in File.ReadLines(path).Where(l => l.Length > 0))
        {
            var record = JsonNode.Parse(line) ?? throw new InvalidDataException($"{path}: an empty JSON line");
            if (record["mode"]?.GetValue<string>() == mode && record[field] is { } value)
                byId[record["id"]!.GetValue<string>()] = value.GetValue<double>();
        }
        return byId;
    }

    /// <summary>
    /// Seconds of training pic needs to first reach global's best point of <paramref name="curve"/> at
    /// <paramref name="ratio"/> (highest F1, or lowest loss), and the seconds global needed for it (means over the seeds
    /// both have); null when an arm lacks the curve, global never improved on its first probe (there is no time to
    /// compare with), or pic never gets there.
    /// </summary>
    public static (double Pic, double Global)? TimeToGlobalBest(IReadOnlyList<ArmResult> arms, string kind, int ratio, LearningCurve curve = LearningCurve.DevF1)
    {
        // Higher is better on every curve: F1 as it is, losses negated.
        List<(double Seconds, double Score)> Curve(ArmResult arm) => curve switch
        {
            LearningCurve.DevF1 => arm.Dev.Select(p => (p.TrainSeconds, p.F1)).ToList(),
            LearningCurve.DevAnswerLoss => arm.Dev.Where(p => p.AnswerLoss is not null).Select(p => (p.TrainSeconds, -p.AnswerLoss!.Value)).ToList(),
            LearningCurve.HeldOutAutoencodingLoss => arm.PretrainProbes.Select(p => (p.TrainSeconds, -p.Loss)).ToList(),
            _ => throw new ArgumentOutOfRangeException(nameof(curve), curve, "no such learning curve"),
        };
        var pairs = PairsBySeed(arms, kind, ratio).Select(p => (Pic: Curve(p.Pic), Global: Curve(p.Global)))
            .Where(p => p.Pic.Count > 0 && p.Global.Count > 0).ToList();
        if (pairs.Count == 0) return null;
        var times = new List<(double Pic, double Global)>();
        foreach (var (pic, global) in pairs)
        {
            var best = global.MaxBy(p => p.Score);
            if (best.Score <= global[0].Score) return null;
            int reached = pic.FindIndex(p => p.Score >= best.Score);
            if (reached < 0) return null;
            times.Add((pic[reached].Seconds, best.Seconds));
        }
        return (times.Average(t => t.Pic), times.Average(t => t.Global));
    }
}
