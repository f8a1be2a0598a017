using System.Diagnostics;
using PicSharp.Data;
using PicSharp.Modeling;

namespace PicSharp.Evaluation;

/// <summary>One answered example: EM and F1 are the best over the gold answers (SQuAD v1.1); AnswerLoss is the
/// teacher-forced loss of the first gold answer in nats per token (<see cref="IQaAnswerer.AnswerLoss"/>), when
/// asked for and the example has an answer.</summary>
public sealed record QaRecord(string Id, string Mode, string Prediction, IReadOnlyList<string> Golds,
    double ExactMatch, double F1, int InputTokens, double? AnswerLoss = null);

/// <summary>An example left out because one mode's input (<paramref name="InputLength"/>) exceeded the limit.</summary>
public sealed record QaSkip(string Id, string Mode, int InputLength);

/// <summary>One mode's answers and their mean scores; WallClock is the time spent answering (not scoring losses).</summary>
public sealed record QaModeScore(string Mode, IReadOnlyList<QaRecord> Records, TimeSpan WallClock)
{
    public int Count => Records.Count;
    public double ExactMatch => Count == 0 ? 0 : Records.Average(r => r.ExactMatch);
    public double F1 => Count == 0 ? 0 : Records.Average(r => r.F1);
    /// <summary>Mean answer loss over the records that have one; null when none has.</summary>
    public double? AnswerLoss
    {
        get
        {
            var losses = Records.Where(r => r.AnswerLoss is not null).Select(r => r.AnswerLoss!.Value).ToList();
            return losses.Count == 0 ? null : losses.Average();
        }
    }
}

/// <param name="Examples">examples given, answered or skipped.</param>
public sealed record QaEvaluationResult(int Examples, int MaxInputLength, IReadOnlyList<QaSkip> Skipped, IReadOnlyList<QaModeScore> Modes);

/// <summary>
/// Scores answerers on SQuAD-format examples. An example is answered only when every answerer's input fits the limit,
/// so all modes are scored on the same examples and their numbers compare directly.
/// </summary>
public static class QaEvaluation
{
    /// <summary>The longest input that leaves room for the answer inside the model's positions.</summary>
    public static int InputLimit(LlamaConfig config, int maxNewTokens = QaGeneration.DefaultMaxNewTokens) =>
        config.MaxPositionEmbeddings - maxNewTokens;

    /// <param name="onRecord">called after each answer (progress reporting).</param>
    /// <param name="answerLoss">also score each gold answer's teacher-forced loss in every mode.</param>
    public static QaEvaluationResult Evaluate(IReadOnlyList<IQaAnswerer> answerers, IReadOnlyList<SquadExample> examples,
        int maxInputLength, Action<QaRecord>? onRecord = null, bool answerLoss = false)
    {
        if (answerers.Count == 0) throw new ArgumentException("no answerers to evaluate", nameof(answerers));
        if (answerers.Select(a => a.Mode).Distinct().Count() != answerers.Count)
            throw new ArgumentException($"answerer modes must differ: {string.Join(", ", answerers.Select(a => a.Mode))}", nameof(answerers));

        var kept = new List<(SquadExample Example, int[] InputLengths)>();
        var skipped = new List<QaSkip>();
        foreach (var example in examples)
        {
            int[] lengths = answerers.Select(a => a.InputLength(example)).ToArray();
            int tooLong = Array.FindIndex(lengths, length => length > maxInputLength);
            if (tooLong >= 0) skipped.Add(new QaSkip(example.Id, answerers[tooLong].Mode, lengths[tooLong]));
            else kept.Add((example, lengths));
        }

        var modes = new List<QaModeScore>();
        for (int a = 0; a < answerers.Count; a++)
        {
            var clock = new Stopwatch();
            var records = new List<QaRecord>();
            foreach (var (example, lengths) in kept)
            {
                clock.Start();
                string prediction = answerers[a].Answer(example);
                clock.Stop();
                var record = Score(answerers[a].Mode, example, prediction, lengths[a]);
                if (answerLoss && example.Answers.Count > 0) record = record with { AnswerLoss = answerers[a].AnswerLoss(example) };
                records.Add(record);
                onRecord?.Invoke(record);
            }
            modes.Add(new QaModeScore(answerers[a].Mode, records, clock.Elapsed));
        }
        return new QaEvaluationResult(examples.Count, maxInputLength, skipped, modes);
    }

    public static QaRecord Score(string mode, SquadExample example, string prediction, int inputTokens)
    {
        var golds = example.Answers.Select(answer => answer.Text).ToList();
        return new QaRecord(example.Id, mode, prediction, golds,
            SquadMetrics.ExactMatch(prediction, golds), SquadMetrics.F1(prediction, golds), inputTokens);
    }
}
