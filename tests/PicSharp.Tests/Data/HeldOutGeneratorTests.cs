using System.Text.RegularExpressions;
using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class HeldOutGeneratorTests
{
    /// <summary>A template with its slots blanked and its case folded, so two engines' templates compare.</summary>
    static string Shape(string template) => Regex.Replace(template, @"\{\w+\}|<[\w-]+>", "_").ToLowerInvariant();

    static IEnumerable<string> TrainingTemplates() =>
        FactKind.All.SelectMany(k => k.Statements.Concat(k.Asks.SelectMany(a => a.Templates)))
            .Concat(Vocabulary.Fillers)
            .Concat(ReadingFactKind.All.SelectMany(k => k.Statements.Concat(k.Labels).Concat(k.Asks.SelectMany(a => a.Templates))))
            .Concat(ReadingFactKind.Fillers);

    [Fact]
    public void Held_out_templates_and_relation_words_are_not_the_training_generators()
    {
        var training = TrainingTemplates().Select(Shape).ToHashSet();
        var heldOut = HeldOutGenerator.Kinds.SelectMany(k => k.Statements.Concat(k.Questions)).Concat(HeldOutGenerator.Asides).Select(Shape).ToList();
        Assert.True(heldOut.Count > 50);
        Assert.DoesNotContain(heldOut, training.Contains);
        var heldOutDetails = HeldOutGenerator.Kinds.SelectMany(k => k.Details ?? []).ToList();
        Assert.NotEmpty(heldOutDetails);
        Assert.Empty(heldOutDetails.Intersect(ReadingFactKind.Relations));
    }

    [Fact]
    public void Held_out_names_never_occur_in_training_passages()
    {
        var heldOutNames = HeldOutGenerator.GivenNames.Select(g => g.Name).Concat(HeldOutGenerator.FamilyNames)
            .Concat(HeldOutGenerator.BlockNames).Concat(HeldOutGenerator.Places).Concat(HeldOutGenerator.Employers)
            .Concat(HeldOutGenerator.PetNames).ToList();
        var short_ = new PassageSize(100, 800);
        string training = string.Join("\n", new ReadingGenerator { QuestionsPerContext = 4 }.Generate(DataSplit.Train, 1200, 1, short_)
            .Concat(new FactsGenerator { QuestionsPerContext = 4 }.Generate(DataSplit.Train, 400, 1, short_))
            .Concat(new RecallGenerator { QuestionsPerContext = 4 }.Generate(DataSplit.Train, 400, 1))
            .SelectMany(e => new[] { e.Context, e.Question }).Distinct());
        // Whole words for alphabetic names; any occurrence for names in block scripts.
        Assert.All(heldOutNames, name => Assert.DoesNotMatch(
            name.Any(c => c >= 0x3000) ? Regex.Escape(name) : $@"(?<!\p{{L}}){Regex.Escape(name)}(?!\p{{L}})", training));
    }

    [Fact]
    public void Held_out_dev_and_test_are_disjoint_exact_spans_over_1_3_6_12_people()
    {
        var test = new HeldOutGenerator().Generate(DataSplit.Test, 40, seed: 2, new PassageSize());
        var dev = new HeldOutGenerator().Generate(DataSplit.Validation, 40, seed: 2, new PassageSize());
        ReadingGeneratorTests.AssertExactMultiByteSafeSpans(test.Concat(dev));
        // The default sizes cycle through 1, 3, 6 and 12 people, each person in a paragraph of their own.
        Assert.Equal([1, 3, 6, 12], test.Take(4).Select(e => e.Context.Split("\n\n").Length));
        Assert.Equal(test.Select(e => e.Context + e.Question), new HeldOutGenerator().Generate(DataSplit.Test, 40, 2, new PassageSize()).Select(e => e.Context + e.Question));
        string devText = string.Join("\n", dev.Select(e => e.Context));
        var testPeople = test.Select(e => e.Question).SelectMany(q => HeldOutGenerator.FamilyNames.Where(q.Contains)).ToHashSet();
        Assert.NotEmpty(testPeople);
        Assert.All(testPeople, family => Assert.DoesNotContain(family, devText));
        Assert.Throws<InvalidInputException>(() => new HeldOutGenerator().Generate(DataSplit.Train, 1, 1, new PassageSize()));
    }
}
