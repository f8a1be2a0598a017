using System.Text;
using System.Text.RegularExpressions;
using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class ReadingGeneratorTests
{
    static readonly PassageSize Short = new(100, 600);

    /// <summary>Spans are exact, and every character is a precomposed BMP one, so the UTF-16 index SquadDataset
    /// writes is also the code-point offset a Python SQuAD reader uses.</summary>
    internal static void AssertExactMultiByteSafeSpans(IEnumerable<SquadExample> examples)
    {
        foreach (var example in examples)
        {
            Assert.True(example.Context.IsNormalized(NormalizationForm.FormC));
            Assert.DoesNotContain(example.Context, char.IsSurrogate);
            foreach (var answer in example.Answers)
            {
                Assert.True(answer.Text.Length > 0);
                Assert.Equal(answer.Text.Trim(), answer.Text);
                Assert.Equal(answer.Text, example.Context.Substring(answer.AnswerStart, answer.Text.Length));
            }
        }
    }

    [Fact]
    public void Reading_is_deterministic_by_seed()
    {
        var generator = new ReadingGenerator { QuestionsPerContext = 3 };
        var first = generator.Generate(DataSplit.Train, 30, seed: 7, Short);
        var again = generator.Generate(DataSplit.Train, 30, seed: 7, Short);
        var other = generator.Generate(DataSplit.Train, 30, seed: 8, Short);
        Assert.Equal(first.Select(e => (e.Context, e.Question, e.Answers[0])), again.Select(e => (e.Context, e.Question, e.Answers[0])));
        Assert.NotEqual(first.Select(e => e.Context), other.Select(e => e.Context));
    }

    [Fact]
    public void Reading_answers_are_exact_spans_in_many_scripts_and_several_words()
    {
        var examples = new ReadingGenerator { QuestionsPerContext = 4 }.Generate(DataSplit.Validation, 400, seed: 3, Short);
        Assert.Equal(400, examples.Count);
        AssertExactMultiByteSafeSpans(examples);
        Assert.All(examples, e => Assert.Matches(@"[?.]$", e.Question));
        var answers = examples.Select(e => e.Answers[0].Text).ToList();
        Assert.Contains(answers, a => a.Any(c => c > 127));                                   // diacritics or other scripts
        Assert.Contains(answers, a => Regex.IsMatch(a, @"\p{IsGreek}|\p{IsCyrillic}|\p{IsCJKUnifiedIdeographs}|\p{IsHangulSyllables}"));
        Assert.True(answers.Count(a => a.Contains(' ')) > 40, "many answers should be several words long");
        // The same question type is answered by several people, so the question's name must be matched: a passage
        // with three or more people has the asked kind of fact about someone else too (checked through the phrasings).
        Assert.True(examples.Select(e => e.Question).Distinct().Count() > 300, "questions should rarely repeat");
        // Passages' questions ask different facts while there are unasked ones.
        foreach (var passage in examples.GroupBy(e => e.Context))
            Assert.Equal(passage.Count(), passage.Select(e => (e.Answers[0].AnswerStart, e.Answers[0].Text)).Distinct().Count());
    }

    [Fact]
    public void Reading_contexts_stay_within_the_token_range_up_to_long_passages()
    {
        var size = new PassageSize(400, 1400);
        var lengths = new ReadingGenerator().Generate(DataSplit.Train, 40, seed: 5, size)
            .Select(e => PassageSize.EstimateTokens(e.Context)).ToList();
        Assert.All(lengths, n => Assert.InRange(n, 400, 1400));
        Assert.True(lengths.Max() - lengths.Min() > 300, "lengths should spread over the range");
        var people = new ReadingGenerator().Generate(DataSplit.Train, 20, seed: 5, new PassageSize(MinEntities: 1, MaxEntities: 1));
        Assert.All(people, e => Assert.InRange(PassageSize.EstimateTokens(e.Context), 5, 400));
    }

    [Fact]
    public void Phrasebook_has_tens_of_phrasings_and_well_formed_templates()
    {
        var kinds = ReadingFactKind.All;
        Assert.True(kinds.Length >= 15);
        Assert.True(kinds.Sum(k => k.Statements.Length) >= 140);
        Assert.True(kinds.Sum(k => k.Asks.Sum(a => a.Templates.Length)) >= 110);
        foreach (var kind in kinds)
        {
            Assert.True(kind.Statements.Length >= 5, kind.Key);
            Assert.All(kind.Statements, s => Assert.Single(Regex.Matches(s, @"\{V\}")));
            Assert.All(kind.Statements, s => Assert.Matches(@"\{(S|Sp|N)\}", s));
            Assert.All(kind.Asks.SelectMany(a => a.Templates), q => Assert.Contains("{N}", q));
            // A detail-less kind never uses {K}; a kind with a detail names it in its questions.
            bool usesDetail = kind.Statements.Concat(kind.Asks.SelectMany(a => a.Templates)).Any(t => t.Contains("{K}"));
            Assert.Equal(kind.Detail is not null, usesDetail);
        }
    }

    [Fact]
    public void Script_names_of_different_splits_never_meet()
    {
        foreach (var script in Enum.GetValues<Script>())
        {
            var starts = DataSplits.All.ToDictionary(s => s, s => ScriptNames.StartingSyllables(script, s).ToHashSet());
            Assert.All(starts.Values, set => Assert.NotEmpty(set));
            Assert.Empty(starts[DataSplit.Train].Intersect(starts[DataSplit.Test]));
            Assert.Empty(starts[DataSplit.Train].Intersect(starts[DataSplit.Validation]));
            var names = new ScriptNames(DataSplit.Test, new Random(1));
            for (int i = 0; i < 50; i++)
            {
                string word = names.Word(script);
                Assert.Contains(starts[DataSplit.Test], s => word.StartsWith(s, StringComparison.OrdinalIgnoreCase));
            }
        }
    }

    [Fact]
    public void Reading_test_names_never_occur_in_training_passages()
    {
        var generator = new ReadingGenerator { QuestionsPerContext = 2 };
        string train = string.Join("\n", generator.Generate(DataSplit.Train, 300, seed: 1, Short).Select(e => e.Context).Distinct());
        string test = string.Join("\n", generator.Generate(DataSplit.Test, 100, seed: 1, Short).Select(e => e.Context).Distinct());
        // Block scripts: a test name starts with a test family character, which training text never contains.
        foreach (var script in new[] { Script.Han, Script.Hangul })
            Assert.All(ScriptNames.StartingSyllables(script, DataSplit.Test), c => Assert.DoesNotContain(c, train));
        // Alphabetic non-ASCII words (names with diacritics, Greek, Cyrillic) that start with a test syllable.
        var testStarts = new[] { Script.LatinDiacritics, Script.Greek, Script.Cyrillic }
            .SelectMany(s => ScriptNames.StartingSyllables(s, DataSplit.Test)).ToList();
        var testWords = Regex.Matches(test, @"\b\p{L}+\b").Select(m => m.Value)
            .Where(w => w.Any(c => c > 127) && testStarts.Any(s => w.StartsWith(s, StringComparison.OrdinalIgnoreCase))).ToHashSet();
        Assert.True(testWords.Count > 20);
        var trainWords = Regex.Matches(train, @"\b\p{L}+\b").Select(m => m.Value).ToHashSet();
        Assert.Empty(testWords.Intersect(trainWords));
    }
}
