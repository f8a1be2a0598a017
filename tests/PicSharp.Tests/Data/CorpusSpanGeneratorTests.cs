using System.Text.RegularExpressions;
using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class CorpusSpanGeneratorTests
{
    static readonly string[] Words = ["harbour", "lantern", "copper", "meadow", "river", "whistle", "garden", "orchard",
        "winter", "candle", "thunder", "pebble", "ribbon", "saddle", "timber", "violet", "walnut", "anchor", "bramble"];

    /// <summary>Made-up prose: sentences of varied words (so most quotes are unique), some with commas or a dash
    /// standing alone as a word (as in the dictionary's "-- Shak.").</summary>
    static List<string> Documents(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(d => string.Join(" ", Enumerable.Range(0, 60).Select(s =>
        {
            var words = Enumerable.Range(0, 7 + random.Next(12)).Select(_ => Words[random.Next(Words.Length)] + (random.Next(7) == 0 ? "," : random.Next(9) == 0 ? " --" : "")).ToList();
            words[0] = prefix + char.ToUpperInvariant(words[0][0]) + words[0][1..].TrimEnd(',');
            words[^1] = words[^1].TrimEnd(',');
            return string.Join(" ", words) + (s % 9 == 8 ? ".\n\n" : ".");
        }))).ToList();
    }

    [Fact]
    public void Spans_quote_a_unique_run_of_words_and_answer_with_an_exact_span()
    {
        var examples = new CorpusSpanGenerator(Documents("", 4, 1)) { QuestionsPerContext = 4 }
            .Generate(DataSplit.Train, 120, seed: 3, new PassageSize(100, 400));
        Assert.Equal(120, examples.Count);
        ReadingGeneratorTests.AssertExactMultiByteSafeSpans(examples);
        foreach (var e in examples)
        {
            string quote = Regex.Match(e.Question, "\"([^\"]+)\"").Groups[1].Value;
            int at = e.Context.IndexOf(quote, StringComparison.Ordinal);
            Assert.True(at >= 0 && at == e.Context.LastIndexOf(quote, StringComparison.Ordinal), $"quote '{quote}' must occur once");
            int answerAt = e.Answers[0].AnswerStart;
            // The answer sits right after the quote, or (for "which word comes before") right before it.
            if (e.Question.Contains("before") || e.Question.Contains("precedes"))
                Assert.Matches(@"^[\p{P}\s]+$", e.Context[(answerAt + e.Answers[0].Text.Length)..at]);
            else
                Assert.Matches(@"^\s+$", e.Context[(at + quote.Length)..answerAt]);
            Assert.InRange(PassageSize.EstimateTokens(e.Context), 100, 400);
        }
        Assert.True(examples.Select(e => Regex.Replace(e.Question, "\"[^\"]*\"|\\d+", "_")).Distinct().Count() >= 10, "questions come in many phrasings");
    }

    [Fact]
    public void Repeat_drills_ask_for_the_whole_passage()
    {
        var examples = new CorpusSpanGenerator(Documents("", 3, 4)) { RepeatWholePassage = true }
            .Generate(DataSplit.Train, 30, seed: 5, new PassageSize(40, 200));
        Assert.Equal(30, examples.Count);
        Assert.True(examples.Select(e => e.Context).Distinct().Count() > 20, "passages come from many places");
        Assert.All(examples, e => Assert.Equal(new SquadAnswer(e.Context, 0), e.Answers[0]));
        Assert.All(examples, e => Assert.InRange(PassageSize.EstimateTokens(e.Context), 40, 200));
        Assert.True(examples.Select(e => e.Question).Distinct().Count() > 1);
    }

    [Fact]
    public void Spans_are_deterministic_and_only_from_the_given_documents()
    {
        var size = new PassageSize(80, 300);
        var train = new CorpusSpanGenerator(Documents("Tr", 3, 1)).Generate(DataSplit.Train, 40, seed: 9, size);
        var again = new CorpusSpanGenerator(Documents("Tr", 3, 1)).Generate(DataSplit.Train, 40, seed: 9, size);
        var test = new CorpusSpanGenerator(Documents("Te", 3, 2)).Generate(DataSplit.Test, 40, seed: 9, size);
        Assert.Equal(train.Select(e => e.Context + e.Question), again.Select(e => e.Context + e.Question));
        // Every passage is a piece of one of its generator's documents, so test passages share no document with train.
        var testDocuments = Documents("Te", 3, 2);
        Assert.All(test, e => Assert.Contains(testDocuments, d => d.Contains(e.Context, StringComparison.Ordinal)));
        Assert.DoesNotContain(test, e => e.Context.Contains("Tr", StringComparison.Ordinal));
        Assert.Throws<InvalidInputException>(() => new CorpusSpanGenerator(["Too short."]).Generate(DataSplit.Train, 1, 1, size));
    }
}
