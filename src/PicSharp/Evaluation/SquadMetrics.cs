using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Evaluation;

/// <summary>Aggregate SQuAD scores as fractions in 0..1 (the official script reports the same numbers × 100).</summary>
public sealed record SquadScore(double ExactMatch, double F1, int Count);

/// <summary>
/// Exact match and token F1 as the official SQuAD v1.1 evaluation script defines them: answers are normalised
/// (lower case, ASCII punctuation removed, the articles a/an/the removed as whole words, white space collapsed),
/// F1 counts common tokens with multiplicity and is 0 when none are shared (even when both sides are empty), and a
/// prediction scores its best value over all gold answers.
/// </summary>
public static partial class SquadMetrics
{
    /// <summary>Python's string.punctuation.</summary>
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    public static string Normalize(string text)
    {
        var withoutPunctuation = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
            if (!Punctuation.Contains(c)) withoutPunctuation.Append(c);
        string withoutArticles = Articles().Replace(withoutPunctuation.ToString(), " ");
        return string.Join(' ', Tokens(withoutArticles));
    }

    static string[] Tokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public static double ExactMatch(string prediction, string gold) => Normalize(prediction) == Normalize(gold) ? 1.0 : 0.0;

    public static double F1(string prediction, string gold)
    {
        string[] predicted = Tokens(Normalize(prediction));
        string[] expected = Tokens(Normalize(gold));
        var remaining = expected.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        int common = 0;
        foreach (string token in predicted)
            if (remaining.TryGetValue(token, out int left) && left > 0) { remaining[token] = left - 1; common++; }
        if (common == 0) return 0.0;
        double precision = (double)common / predicted.Length;
        double recall = (double)common / expected.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The best exact match over the gold answers (0 when there are none).</summary>
    public static double ExactMatch(string prediction, IEnumerable<string> golds) =>
        golds.Select(gold => ExactMatch(prediction, gold)).DefaultIfEmpty(0).Max();

    /// <summary>The best F1 over the gold answers (0 when there are none).</summary>
    public static double F1(string prediction, IEnumerable<string> golds) =>
        golds.Select(gold => F1(prediction, gold)).DefaultIfEmpty(0).Max();

    /// <summary>Mean EM and F1 over (prediction, gold answers) pairs.</summary>
    public static SquadScore Score(IEnumerable<(string Prediction, IReadOnlyList<string> Golds)> results)
    {
        var list = results.ToList();
        if (list.Count == 0) return new SquadScore(0, 0, 0);
        return new SquadScore(list.Average(r => ExactMatch(r.Prediction, r.Golds)), list.Average(r => F1(r.Prediction, r.Golds)), list.Count);
    }

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();
}
