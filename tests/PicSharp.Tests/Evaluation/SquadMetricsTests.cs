using PicSharp.Evaluation;

namespace PicSharp.Tests.Evaluation;

public class SquadMetricsTests
{
    [Theory]
    [InlineData("The Eiffel Tower", "eiffel tower")]
    [InlineData("  an   apple, a day!  ", "apple day")]
    [InlineData("Theatre of the absurd", "theatre of absurd")] // "the" inside "Theatre" is not an article
    [InlineData("U.S.A.", "usa")]
    [InlineData("rock-'n'-roll", "rocknroll")]
    [InlineData("", "")]
    public void Normalize_follows_squad_v1_1(string text, string expected) =>
        Assert.Equal(expected, SquadMetrics.Normalize(text));

    [Fact]
    public void Exact_match_ignores_case_articles_and_punctuation() =>
        Assert.Equal(1.0, SquadMetrics.ExactMatch("the Louvre.", "Louvre"));

    [Fact]
    public void Exact_match_takes_the_best_gold_answer()
    {
        Assert.Equal(1.0, SquadMetrics.ExactMatch("Denver Broncos", ["Broncos", "the Denver Broncos", "Denver"]));
        Assert.Equal(0.0, SquadMetrics.ExactMatch("Denver Broncos", ["Broncos", "Denver"]));
    }

    [Fact]
    public void Partial_overlap_f1_is_worked_by_hand()
    {
        // prediction tokens: [red, brick, house]; gold tokens: [big, red, house, on, hill] ("the" removed).
        // common = {red, house} = 2; precision = 2/3, recall = 2/5; F1 = 2 * (2/3) * (2/5) / (2/3 + 2/5) = 0.5.
        Assert.Equal(0.5, SquadMetrics.F1("a red brick house", "the big red house on the hill"), 12);
    }

    [Fact]
    public void F1_counts_repeated_tokens_with_multiplicity()
    {
        // prediction [go, go, go] vs gold [go, now]: common = min(3,1) = 1; P = 1/3, R = 1/2, F1 = 2*(1/6)/(5/6) = 0.4.
        Assert.Equal(0.4, SquadMetrics.F1("go go go", "go now"), 12);
    }

    [Fact]
    public void F1_is_the_maximum_over_gold_answers()
    {
        // vs "Paris France": common 1 of P = 1/1, R = 1/2 → 2/3; vs "Paris": 1.0.
        Assert.Equal(2.0 / 3.0, SquadMetrics.F1("Paris", "Paris, France"), 12);
        Assert.Equal(1.0, SquadMetrics.F1("Paris", ["Paris, France", "paris"]), 12);
    }

    [Fact]
    public void Empty_prediction_scores_zero()
    {
        Assert.Equal(0.0, SquadMetrics.F1("", "1961"));
        Assert.Equal(0.0, SquadMetrics.ExactMatch("", "1961"));
        // Like the v1.1 script: both sides empty after normalisation share no token, so F1 is 0 while EM is 1.
        Assert.Equal(0.0, SquadMetrics.F1("the", "a"));
        Assert.Equal(1.0, SquadMetrics.ExactMatch("the", "a"));
    }

    [Fact]
    public void Score_averages_fractions_over_questions()
    {
        var score = SquadMetrics.Score([
            ("Louvre", ["the Louvre"]),                      // EM 1, F1 1
            ("a red brick house", ["big red house on the hill"]), // EM 0, F1 0.5
        ]);
        Assert.Equal(2, score.Count);
        Assert.Equal(0.5, score.ExactMatch, 12);
        Assert.Equal(0.75, score.F1, 12);
    }
}
