using System.Text.RegularExpressions;
using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class QaGeneratorTests
{
    static readonly PassageSize Short = new(100, 600);

    static void AssertSpansMatch(IEnumerable<SquadExample> examples)
    {
        foreach (var example in examples)
            foreach (var answer in example.Answers)
                Assert.Equal(answer.Text, example.Context.Substring(answer.AnswerStart, answer.Text.Length));
    }

    [Fact]
    public void Facts_are_deterministic_by_seed()
    {
        var generator = new FactsGenerator { QuestionsPerContext = 2 };
        var first = generator.Generate(DataSplit.Train, 20, seed: 7, Short);
        var again = generator.Generate(DataSplit.Train, 20, seed: 7, Short);
        var other = generator.Generate(DataSplit.Train, 20, seed: 8, Short);
        Assert.Equal(first.Select(e => (e.Context, e.Question, e.Answers[0])), again.Select(e => (e.Context, e.Question, e.Answers[0])));
        Assert.NotEqual(first.Select(e => e.Context), other.Select(e => e.Context));
    }

    [Fact]
    public void Facts_answers_are_exact_spans()
    {
        var examples = new FactsGenerator { QuestionsPerContext = 3 }.Generate(DataSplit.Validation, 150, seed: 3, Short);
        Assert.Equal(150, examples.Count);
        AssertSpansMatch(examples);
        Assert.All(examples, e => Assert.Contains(e.Question, q => q == '?'));
    }

    [Fact]
    public void Facts_contexts_stay_within_the_token_range()
    {
        var size = new PassageSize(300, 900);
        var examples = new FactsGenerator().Generate(DataSplit.Train, 40, seed: 5, size);
        var lengths = examples.Select(e => PassageSize.EstimateTokens(e.Context)).ToList();
        Assert.All(lengths, n => Assert.InRange(n, 300, 900));
        Assert.True(lengths.Max() - lengths.Min() > 200, "lengths should spread over the range");
    }

    [Fact]
    public void Facts_entity_count_option_controls_paragraphs()
    {
        var examples = new FactsGenerator().Generate(DataSplit.Train, 30, seed: 2, new PassageSize(MinEntities: 3, MaxEntities: 3));
        Assert.All(examples, e => Assert.Equal(3, e.Context.Split("\n\n").Length));
    }

    /// <summary>Capitalised words of the templates and word lists (months, "Labs", "These"...): not invented names.</summary>
    static readonly HashSet<string> FixedWords = FactKind.All
        .SelectMany(k => k.Statements.Concat(k.Asks.SelectMany(a => a.Templates)))
        .Concat(Vocabulary.OrganisationSuffixes).Concat(Vocabulary.Fillers).Concat(Vocabulary.Instruments)
        .Concat(System.Globalization.CultureInfo.InvariantCulture.DateTimeFormat.MonthNames)
        .SelectMany(text => Regex.Matches(text, @"[A-Za-z]+").Select(m => m.Value))
        .ToHashSet();

    /// <summary>Capitalised invented words of a split: names of people, organisations, places and pets.</summary>
    static HashSet<string> NamesIn(IEnumerable<SquadExample> examples, DataSplit split)
    {
        var starts = NameInventory.StartingSyllables(split).Select(s => char.ToUpperInvariant(s[0]) + s[1..]).ToList();
        return examples.SelectMany(e => Regex.Matches(e.Context, @"\b[A-Z][a-z]+\b").Select(m => m.Value))
            .Where(word => starts.Any(word.StartsWith) && !FixedWords.Contains(word)).ToHashSet();
    }

    [Fact]
    public void Facts_splits_share_no_entity_name()
    {
        var generator = new FactsGenerator { QuestionsPerContext = 2 };
        var train = generator.Generate(DataSplit.Train, 200, seed: 1, Short);
        var test = generator.Generate(DataSplit.Test, 60, seed: 1, Short);
        string trainText = string.Join("\n", train.Select(e => e.Context).Distinct());
        // Every asked-about entity (the full name in the question) of the test split is absent from all train contexts.
        var testEntities = test.SelectMany(e => Regex.Matches(e.Question, @"[A-Z][a-z]+ [A-Z][a-z]+( [A-Z][a-z]+)?").Select(m => m.Value)).ToHashSet();
        Assert.NotEmpty(testEntities);
        Assert.All(testEntities, name => Assert.DoesNotContain(name, trainText));
        var testNames = NamesIn(test, DataSplit.Test);
        Assert.True(testNames.Count > 50);
        Assert.All(testNames, name => Assert.DoesNotMatch($@"\b{name}\b", trainText));
    }

    static List<LexiconEntry> TinyLexicon(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => new LexiconEntry($"{prefix}word{(char)('a' + i / 26)}{(char)('a' + i % 26)}",
            [$"a made up meaning number {i} for testing"])).ToList();

    [Fact]
    public void Definitions_ask_for_meanings_and_words_as_spans()
    {
        var lexicon = TinyLexicon("alpha", 40)
            .Append(new LexiconEntry("self", ["something about self itself"])) // its definition holds the word: unusable
            .ToList();
        var examples = new DefinitionsGenerator(lexicon) { QuestionsPerContext = 2 }
            .Generate(DataSplit.Train, 60, seed: 4, new PassageSize(MinEntities: 3, MaxEntities: 6));
        AssertSpansMatch(examples);
        Assert.All(examples, e => Assert.InRange(e.Context.Split('\n').Length, 3, 6));
        Assert.Contains(examples, e => e.Answers[0].Text.StartsWith("a made up meaning"));
        Assert.Contains(examples, e => e.Answers[0].Text.StartsWith("Alphaword") || e.Answers[0].Text.StartsWith("alphaword"));
        Assert.DoesNotContain(examples, e => e.Context.Contains("self itself"));
    }

    [Fact]
    public void Definitions_use_only_their_own_lexicon_and_are_deterministic()
    {
        var train = new DefinitionsGenerator(TinyLexicon("train", 30)).Generate(DataSplit.Train, 20, 9, Short);
        var again = new DefinitionsGenerator(TinyLexicon("train", 30)).Generate(DataSplit.Train, 20, 9, Short);
        var test = new DefinitionsGenerator(TinyLexicon("test", 30)).Generate(DataSplit.Test, 20, 9, Short);
        Assert.Equal(train.Select(e => e.Context + e.Question), again.Select(e => e.Context + e.Question));
        Assert.DoesNotContain(test, e => e.Context.Contains("trainword", StringComparison.OrdinalIgnoreCase));
        Assert.All(train.Concat(test), e => Assert.InRange(PassageSize.EstimateTokens(e.Context), 1, 600));
    }

    [Fact]
    public void Lexicon_split_is_by_word_and_case_insensitive()
    {
        Assert.Equal(Lexicon.SplitOf("Apple"), Lexicon.SplitOf("apple"));
        var splits = Enumerable.Range(0, 2000).Select(i => Lexicon.SplitOf($"w{i}")).ToList();
        Assert.InRange(splits.Count(s => s == DataSplit.Test), 50, 150);
        Assert.InRange(splits.Count(s => s == DataSplit.Train), 1700, 1900);
    }

    [Fact]
    public void Arithmetic_answers_are_free_form_numbers_and_deterministic()
    {
        var examples = new ArithmeticGenerator().Generate(DataSplit.Test, 100, seed: 11);
        var again = new ArithmeticGenerator().Generate(DataSplit.Test, 100, seed: 11);
        Assert.Equal(examples.Select(e => e.Context + e.Answers[0].Text), again.Select(e => e.Context + e.Answers[0].Text));
        Assert.All(examples, e =>
        {
            Assert.Equal(-1, e.Answers[0].AnswerStart);
            Assert.True(int.Parse(e.Answers[0].Text) >= 0);
        });
        var trainNames = NamesIn(new ArithmeticGenerator().Generate(DataSplit.Train, 300, seed: 11), DataSplit.Test);
        Assert.Empty(trainNames);
    }

    [Fact]
    public void Recall_answers_are_the_word_after_the_asked_one_and_splits_share_no_word()
    {
        var examples = new RecallGenerator().Generate(DataSplit.Train, 200, seed: 5, minItems: 3, maxItems: 12);
        AssertSpansMatch(examples);
        foreach (var e in examples.Where(e => e.Question != "What does the list read?"))
        {
            // The asked word is the question's last capitalised word; the answer must follow it in the context.
            string asked = Regex.Matches(e.Question, @"\b[A-Z][a-z]+\b").Last().Value;
            string after = e.Question.StartsWith("Which word goes with") ? $"{asked} goes with " : $"{asked}, ";
            Assert.Equal(e.Context.IndexOf(after, StringComparison.Ordinal) + after.Length, e.Answers[0].AnswerStart);
        }
        Assert.Contains(examples, e => e.Question.StartsWith("Which word goes with"));
        Assert.Contains(examples, e => e.Question.StartsWith("Which word comes right after"));
        Assert.All(examples.Where(e => e.Question == "What does the list read?"),
            e => Assert.Equal("The list reads: " + e.Answers[0].Text + ".", e.Context));
        Assert.Equal(examples.Select(e => e.Context), new RecallGenerator().Generate(DataSplit.Train, 200, seed: 5, minItems: 3, maxItems: 12).Select(e => e.Context));
        Assert.Empty(NamesIn(examples, DataSplit.Test));
        Assert.Throws<InvalidInputException>(() => new RecallGenerator().Generate(DataSplit.Train, 1, seed: 1, minItems: 1, maxItems: 3));
    }

    [Fact]
    public void Recall_asks_several_different_words_of_one_context()
    {
        var examples = new RecallGenerator { QuestionsPerContext = 4 }.Generate(DataSplit.Train, 300, seed: 9, minItems: 6, maxItems: 10);
        Assert.Equal(300, examples.Count);
        AssertSpansMatch(examples);
        var byContext = examples.GroupBy(e => e.Context).ToList();
        Assert.All(byContext, g => Assert.Equal(g.Count(), g.Select(e => e.Question).Distinct().Count()));
        Assert.All(byContext.Where(g => g.First().Question == "What does the list read?"), g => Assert.Single(g));
        Assert.Contains(byContext, g => g.Count() == 4);
        Assert.Equal(examples.Count, examples.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public void Facts_questions_on_one_passage_ask_different_facts_while_there_are_some()
    {
        var examples = new FactsGenerator { QuestionsPerContext = 6 }.Generate(DataSplit.Train, 120, seed: 4, Short);
        foreach (var passage in examples.GroupBy(e => e.Context))
            Assert.Equal(passage.Count(), passage.Select(e => (e.Answers[0].AnswerStart, e.Answers[0].Text)).Distinct().Count());
    }

    [Fact]
    public void Arithmetic_answers_match_the_problem()
    {
        foreach (var e in new ArithmeticGenerator().Generate(DataSplit.Train, 300, seed: 2))
        {
            int answer = int.Parse(e.Answers[0].Text);
            var n = Regex.Matches(e.Context, @"\d+").Select(m => int.Parse(m.Value)).ToArray();
            int expected = e.Question switch
            {
                var q when q.StartsWith("How many dollars of change") => n[2] - n[0] * n[1],
                var q when q.Contains("have left") => n[0] * n[1] - n[2],
                var q when q.Contains("each friend") => n[0] / n[1],
                var q when q.Contains("still have to cycle") => n[0] * n[1] - n[2],
                var q when q.Contains("have together") => n[0] + n[1] * n[0],
                var q when q.Contains("in total") => n[0] * n[1],
                _ => n[0] + n[1] - n[2],
            };
            Assert.Equal(expected, answer);
        }
    }

    [Fact]
    public void Generated_sets_round_trip_through_squad_json()
    {
        using var dir = new TempDirectory();
        var examples = new FactsGenerator { QuestionsPerContext = 2 }.Generate(DataSplit.Train, 10, 1, Short)
            .Concat(new ArithmeticGenerator().Generate(DataSplit.Train, 5, 1)).ToList();
        string path = dir.File("qa.json");
        new SquadDataset(examples).Save(path);
        var loaded = SquadDataset.Load(path).Examples;
        Assert.Equal(examples.Select(e => (e.Id, e.Context, e.Question, e.Answers[0])),
            loaded.Select(e => (e.Id, e.Context, e.Question, e.Answers[0])));
    }
}
