namespace PicSharp.Data;

/// <summary>
/// Look-up drills that can only be answered by finding a word in the context and copying what follows it: the
/// successor of a word in a list, the value paired with a key, or the whole list read back (where every answer token
/// rewards copying). A small LM trained on prose forms the attention
/// heads that do this (induction heads) only after billions of tokens; these drills make copying the whole task, so
/// the skill the facts questions need is learnt within a short training budget. Words come from the split's own
/// <see cref="NameInventory"/>, so dev and test words never occur in training drills.
/// </summary>
public sealed class RecallGenerator
{
    /// <summary>Questions asked about each successor or key-value context (different words each); a whole-list
    /// context is asked once.</summary>
    public int QuestionsPerContext { get; init; } = 1;

    /// <param name="minItems">fewest words (list) or pairs (table) per context.</param>
    /// <param name="maxItems">most words or pairs per context.</param>
    public List<SquadExample> Generate(DataSplit split, int count, int seed, int minItems = 4, int maxItems = 40)
    {
        if (minItems < 2 || maxItems < minItems)
            throw new InvalidInputException($"recall drills need 2 <= min items <= max items, got {minItems} and {maxItems}");
        if (QuestionsPerContext < 1)
            throw new InvalidInputException($"questions per context must be at least 1, got {QuestionsPerContext}");
        var random = new Random(seed);
        var names = new NameInventory(split, random);
        var examples = new List<SquadExample>(count);
        for (int c = 0; examples.Count < count; c++)
        {
            var words = DistinctWords(names, random.Next(minItems, maxItems + 1) * 2);
            var (context, questions) = random.Next(3) switch
            {
                0 => Successors(words, random, QuestionsPerContext),
                1 => PairedValues(words, random, QuestionsPerContext),
                _ => WholeList(words),
            };
            // With one question per context the ids stay those of earlier versions (one context per example).
            for (int q = 0; q < questions.Count && examples.Count < count; q++)
            {
                var (question, answer, start) = questions[q];
                string id = QuestionsPerContext == 1 ? $"recall-{split.QaName()}-{seed}-{c}" : $"recall-{split.QaName()}-{seed}-{c}-{q}";
                examples.Add(new SquadExample(id, $"recall {split.QaName()} {c}", context, question, [new SquadAnswer(answer, start)]));
            }
        }
        return examples;
    }

    static List<string> DistinctWords(NameInventory names, int count)
    {
        var words = new HashSet<string>();
        while (words.Count < count) words.Add(names.Word());
        return [.. words];
    }

    /// <summary>Up to <paramref name="wanted"/> different numbers below <paramref name="bound"/>, in draw order.</summary>
    static List<int> DistinctPositions(Random random, int bound, int wanted)
    {
        var picked = new List<int>();
        var seen = new HashSet<int>();
        while (picked.Count < Math.Min(wanted, bound))
        {
            int at = random.Next(bound);
            if (seen.Add(at)) picked.Add(at);
        }
        return picked;
    }

    // "The list reads: A, B, C." — which word comes right after B?
    static (string, List<(string, string, int)>) Successors(List<string> words, Random random, int wanted)
    {
        var list = words.Take(words.Count / 2).ToList();
        string context = "The list reads: " + string.Join(", ", list) + ".";
        var questions = DistinctPositions(random, list.Count - 1, wanted).Select(at =>
        {
            int start = context.IndexOf(", " + list[at + 1] + (at + 2 < list.Count ? "," : "."), StringComparison.Ordinal) + 2;
            return ($"Which word comes right after {list[at]} in the list?", list[at + 1], start);
        }).ToList();
        return (context, questions);
    }

    // "The list reads: A, B, C." — what does the list read? (A, B, C)
    static (string, List<(string, string, int)>) WholeList(List<string> words)
    {
        var list = words.Take(words.Count / 2).ToList();
        const string Lead = "The list reads: ";
        return (Lead + string.Join(", ", list) + ".", [("What does the list read?", string.Join(", ", list), Lead.Length)]);
    }

    // "Kavorin goes with Brathel. Stumix goes with Dorafen." — what goes with Stumix?
    static (string, List<(string, string, int)>) PairedValues(List<string> words, Random random, int wanted)
    {
        int pairs = words.Count / 2;
        string context = string.Join(" ", Enumerable.Range(0, pairs).Select(p => $"{words[2 * p]} goes with {words[2 * p + 1]}."));
        var questions = DistinctPositions(random, pairs, wanted).Select(asked =>
        {
            string key = $"{words[2 * asked]} goes with ";
            int start = context.IndexOf(key, StringComparison.Ordinal) + key.Length;
            return ($"Which word goes with {words[2 * asked]}?", words[2 * asked + 1], start);
        }).ToList();
        return (context, questions);
    }
}
