using System.CommandLine;
using System.Globalization;
using System.Text;
using PicSharp.Cli.Commands;
using PicSharp.CompressorTraining;
using PicSharp.Storage;

namespace PicSharp.Lab;

/// <summary>
/// `pic-lab experiments-report`: the tables, plots and the paper's claims checked, from a pic-vs-global sweep's arm folders
/// (scripts/pic-experiments.sh): results.md, f1-vs-ratio.png, dev-f1-16x.png, ae-loss.png.
/// </summary>
public static class ExperimentsReportCommand
{
    public static Command Create()
    {
        var runs = new Option<string>("--runs") { Description = "the sweep folder (one folder per arm)", DefaultValueFactory = _ => "runs/pic-experiments" };
        var output = new Option<string>("--out") { Description = "folder for results.md and the PNG plots", Required = true };
        var set = new Option<string>("--set") { Description = "test set of the plots and claims (an eval-SET.json name)", DefaultValueFactory = _ => "facts-test" };
        var command = new Command("experiments-report", "tables, plots and the paper's claims (pic vs global) from a compressor sweep's run folders") { runs, output, set };
        command.SetAction(parse => CommandErrors.Run("pic-lab experiments-report", () =>
        {
            var arms = SweepResults.Read(parse.GetValue(runs)!);
            if (arms.Count == 0) throw new InvalidDataException($"{parse.GetValue(runs)}: no finished arm (a folder with qa/checkpoint and eval-*.json)");
            string outDir = parse.GetValue(output)!, mainSet = parse.GetValue(set)!;
            Directory.CreateDirectory(outDir);
            AtomicFile.WriteAllText(Path.Combine(outDir, "results.md"), Markdown(arms, mainSet, parse.GetValue(runs)!));
            SavePlot(Path.Combine(outDir, "f1-vs-ratio.png"), "log2 ratio", $"F1 from memory ({mainSet})", F1ByRatio(arms, mainSet));
            // The learning-speed claim is a 16x claim: without 16x arms there is no curve to draw.
            var at16 = arms.Where(a => a.Ratio == 16 && a.Policy is "pic" or "global").ToList();
            if (at16.Count > 0)
                SavePlot(Path.Combine(outDir, "dev-f1-16x.png"), "training wall clock (s, both stages)", "dev F1 from memory",
                    at16.Select(a => (a.Name, a.Dev.Select(p => (p.TrainSeconds, p.F1)).ToList())));
            SavePlot(Path.Combine(outDir, "ae-loss.png"), "pretraining step", "held-out loss (nats/token)",
                arms.Select(a => (a.Name, a.PretrainProbes.Select(p => ((double)p.Step, p.Loss)).ToList())));
            Console.WriteLine($"{arms.Count} arms; wrote results.md, f1-vs-ratio.png, {(at16.Count > 0 ? "dev-f1-16x.png, " : "")}ae-loss.png in {outDir}" +
                (at16.Count > 0 ? "" : " (no 16x pic or global arm, so no dev-f1-16x.png)"));
            return 0;
        }));
        return command;
    }

    static IEnumerable<(string Label, List<(double X, double Y)> Points)> F1ByRatio(IReadOnlyList<ArmResult> arms, string set) =>
        SweepResults.MemoryScores(arms, set).GroupBy(s => (s.Key.Policy, s.Key.Kind))
            .Select(g => ($"{g.Key.Policy} {g.Key.Kind}", g.OrderBy(s => s.Key.Ratio).Select(s => (Math.Log2(s.Key.Ratio), s.Value.F1.Mean)).ToList()));

    static void SavePlot(string path, string xLabel, string yLabel, IEnumerable<(string Label, List<(double X, double Y)> Points)> series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (label, points) in series.Where(s => s.Points.Count > 0))
            plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray()).LegendText = label;
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        // Beside the data, not over it: the curves end where a corner legend sits, and the last probes are the point.
        plot.ShowLegend(ScottPlot.Edge.Right);
        byte[] png = plot.GetImageBytes(1000, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>"+0.123" / "-0.123"; a value that rounds to zero is "+0.000" (a format with sections would print
    /// "-+0.000" for small negatives).</summary>
    static string Signed(double value)
    {
        double rounded = Math.Round(value, 3);
        return (rounded == 0 ? 0 : rounded).ToString("+0.000;-0.000", CultureInfo.InvariantCulture);
    }
    static string Pm(SeedStat s) => s.Seeds > 1 ? $"{F(s.Mean)} ± {F(s.Std)}" : F(s.Mean);

    static string Markdown(IReadOnlyList<ArmResult> arms, string mainSet, string runsDir)
    {
        var md = new StringBuilder($"# Compressor sweep: {runsDir}\n\n");
        foreach (string set in arms.SelectMany(a => a.Sets.Keys).Distinct().Order())
        {
            md.Append($"## {set}: EM / F1 per arm (the same questions in every mode)\n\n" +
                "memory-other: the control, each question read from another passage's memory. Answer loss: the gold answer's " +
                "teacher-forced loss in nats per token, full / memory / memory-other / none (\"-\": not scored by that evaluation). " +
                "Own-memory gain: memory-other − memory answer loss per question, mean ± standard error (> 0: the memory carries its passage).\n\n" +
                "| arm | policy | kind | ratio | seed | answered | full | memory | memory-other | none | answer loss | own-memory gain |\n" +
                "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            foreach (var arm in arms.Where(a => a.Sets.ContainsKey(set)))
            {
                var modes = arm.Sets[set];
                string Cell(string mode) => modes.TryGetValue(mode, out var s) ? $"{F(s.ExactMatch)} / {F(s.F1)}" : "-";
                string Loss(string mode) => modes.TryGetValue(mode, out var s) && s.AnswerLoss is double loss ? F(loss) : "-";
                string gain = SweepResults.OwnMemoryGain(arm, set) is { } g ? $"{Signed(g.Mean)} ± {F(g.StandardError)}" : "-";
                md.Append($"| {arm.Name} | {arm.Policy} | {arm.Kind} | {arm.Ratio} | {arm.Seed} | {modes.Values.First().Answered} | " +
                    $"{Cell("full")} | {Cell("memory")} | {Cell("memory-other")} | {Cell("none")} | {Loss("full")} / {Loss("memory")} / {Loss("memory-other")} / {Loss("none")} | {gain} |\n");
            }
            md.Append($"\n| policy | kind | ratio | seeds | EM from memory | F1 from memory |\n|---|---|---|---|---|---|\n");
            foreach (var (key, (em, f1)) in SweepResults.MemoryScores(arms, set).OrderBy(s => s.Key.Kind).ThenBy(s => s.Key.Ratio).ThenBy(s => s.Key.Policy))
                md.Append($"| {key.Policy} | {key.Kind} | {key.Ratio} | {f1.Seeds} | {Pm(em)} | {Pm(f1)} |\n");
            md.Append('\n');
        }
        md.Append(AutoencodingTable(arms));
        md.Append(Claims(arms, mainSet));
        return md.ToString();
    }

    static string AutoencodingTable(IReadOnlyList<ArmResult> arms)
    {
        var measured = arms.SelectMany(a => a.Bounds.Select(b => (Arm: a, Stage: b.Key, Bounds: b.Value))).ToList();
        if (measured.Count == 0) return "";
        var md = new StringBuilder("## Autoencoding from memory (pic memory-bounds, held-out windows)\n\n" +
            "Reconstruction loss in nats/token of held-out corpus windows: with no memory (floor), from the window's own memory, " +
            "from the next window's memory (the control), and from the text itself (ceiling). Own-memory gain: control − own " +
            "(> 0: the memory carries its window, beyond what any memory gives).\n\n" +
            "| arm | kind | ratio | after stage | floor | own memory | next window's memory | ceiling | own-memory gain |\n" +
            "|---|---|---|---|---|---|---|---|---|\n");
        foreach (var (arm, stage, b) in measured)
            md.Append($"| {arm.Name} | {arm.Kind} | {arm.Ratio} | {stage} | {F(b.Floor)} | {F(b.Own)} | {F(b.OtherWindow)} | {F(b.Ceiling)} | {Signed(b.Gain)} |\n");
        return md.Append('\n').ToString();
    }

    static string Claims(IReadOnlyList<ArmResult> arms, string set)
    {
        var scores = SweepResults.MemoryScores(arms, set);
        var md = new StringBuilder($"## The paper's claims, on {set}\n\n");
        foreach (string kind in scores.Keys.Select(k => k.Kind).Distinct().Order())
        {
            var ratios = scores.Keys.Where(k => k.Kind == kind && k.Policy == "pic").Select(k => k.Ratio)
                .Where(r => scores.ContainsKey(("global", kind, r))).Order().ToList();
            if (ratios.Count == 0) continue;
            md.Append($"**pic ≥ global at every ratio ({kind})**: ");
            md.Append(string.Join("; ", ratios.Select(r =>
            {
                double pic = scores[("pic", kind, r)].F1.Mean, global = scores[("global", kind, r)].F1.Mean;
                return $"{r}x F1 {F(pic)} vs {F(global)}, " + (SweepResults.MemoryDifference(arms, set, kind, r, PairedMetric.F1) is { } d
                    ? $"paired difference {Signed(d.Mean)} ± {F(d.StandardError)} over {d.Pairs} questions: {d.Verdict}"
                    : "no per-question predictions to pair, so no error bar")
                    + (SweepResults.MemoryDifference(arms, set, kind, r, PairedMetric.AnswerLoss) is { } l
                        ? $"; gold-answer loss from memory, paired difference {Signed(l.Mean)} ± {F(l.StandardError)} nats/token over {l.Pairs} questions: {l.Verdict}"
                        : "");
            })));
            md.Append(".\n\n");
            var gains = ratios.Select(r => (Ratio: r, Gains: SweepResults.AutoencodingGains(arms, kind, r, "pretrain")))
                .Where(g => g.Gains is not null).ToList();
            if (gains.Count > 0)
                md.Append($"**pic ≥ global on what memory carries into reconstruction ({kind})** (autoencoding own-memory gain after pretraining, " +
                    "nats/token, over seeds): " + string.Join("; ", gains.Select(g => $"{g.Ratio}x pic {Pm(g.Gains!.Value.Pic)} vs global {Pm(g.Gains.Value.Global)}")) + ".\n\n");
            if (ratios.Contains(64))
            {
                var (picEm, picF1) = scores[("pic", kind, 64)];
                var (globalEm, globalF1) = scores[("global", kind, 64)];
                md.Append($"**Relative gain at 64x ({kind})** (paper: +29.8 % F1, +40.7 % EM): F1 {Gain(picF1.Mean, globalF1.Mean)}, EM {Gain(picEm.Mean, globalEm.Mean)}.\n\n");
            }
            md.Append(SweepResults.TimeToGlobalBest(arms, kind, 16) is var (picSeconds, globalSeconds)
                ? $"**Wall clock to global's best dev F1 at 16x ({kind})** (paper: about 0.6): pic {picSeconds:F0} s, global {globalSeconds:F0} s, ratio {F(picSeconds / globalSeconds)}.\n\n"
                : $"**Wall clock to global's best dev F1 at 16x ({kind})**: not measurable (no paired dev curves, global never improved on its first probe, or pic never reached global's best).\n\n");
            // The same claim on a graded measure: where answers sit at the F1 floor, dev F1 is noise, the loss is not.
            md.Append(SweepResults.TimeToGlobalBest(arms, kind, 16, LearningCurve.DevAnswerLoss) is var (picLossSeconds, globalLossSeconds)
                ? $"**Wall clock to global's lowest dev answer loss at 16x ({kind})** (the QA stage's probe; the paper's claim on a graded measure): pic {picLossSeconds:F0} s, global {globalLossSeconds:F0} s, ratio {F(picLossSeconds / globalLossSeconds)}.\n\n"
                : $"**Wall clock to global's lowest dev answer loss at 16x ({kind})**: not measurable (no paired QA probes, global never improved on its first probe, or pic never reached global's lowest).\n\n");
            // And on the pretraining probe, at every ratio: where even the answer loss barely moves, reconstruction does.
            var probeWindows = arms.Where(a => a.Kind == kind).Select(a => a.PretrainProbeWindows).OfType<int>().Distinct().Order().ToList();
            string windows = probeWindows.Count switch
            {
                0 => "",
                1 => $", {probeWindows[0]} windows",
                _ => $", {probeWindows[0]}-{probeWindows[^1]} windows",
            };
            md.Append($"**Wall clock to global's lowest held-out autoencoding loss ({kind})** (the pretraining stage's probe{windows}; " +
                "the paper's claim on the one curve that moves at every ratio): " + string.Join("; ", ratios.Select(r =>
                    SweepResults.TimeToGlobalBest(arms, kind, r, LearningCurve.HeldOutAutoencodingLoss) is var (pic, global)
                        ? $"{r}x pic {pic:F0} s, global {global:F0} s, ratio {F(pic / global)}"
                        : $"{r}x not reached (pic never got to global's lowest, global never improved on its first probe, or no paired probes)")) + ".\n\n");
        }
        return md.ToString();
    }

    static string Gain(double pic, double global) => global > 0 ? $"{(pic / global - 1) * 100:+0.0;-0.0} %" : $"undefined (global {F(global)})";
}
