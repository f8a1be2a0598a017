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
    /// <param name="minItems">fewest words (list) or pairs (table) per context.</param>
    /// <param name="maxItems">most words or pairs per context.</param>
    public List<SquadExample> Generate(DataSplit split, int count, int seed, int minItems = 4, int maxItems = 40)
    {
        if (minItems < 2 || maxItems < minItems)
            throw new ArgumentException($"recall drills need 2 <= min items <= max items, got {minItems} and {maxItems}");
        var random = new Random(seed);
        var names = new NameInventory(split, random);
        var examples = new List<SquadExample>(count);
        for (int i = 0; i < count; i++)
        {
            var words = DistinctWords(names, random.Next(minItems, maxItems + 1) * 2);
            var (context, question, answer, start) = random.Next(3) switch
            {
                0 => Successor(words, random),
                1 => PairedValue(words, random),
                _ => WholeList(words),
            };
            examples.Add(new SquadExample($"recall-{split.QaName()}-{seed}-{i}", $"recall {split.QaName()} {i}", context,
                question, [new SquadAnswer(answer, start)]));
        }
        return examples;
    }

    static List<string> DistinctWords(NameInventory names, int count)
    {
        var words = new HashSet<string>();
        while (words.Count < count) words.Add(names.Word());
        return [.. words];
    }

    // "The list reads: A, B, C." — which word comes right after B?
    static (string, string, string, int) Successor(List<string> words, Random random)
    {
        var list = words.Take(words.Count / 2).ToList();
        int at = random.Next(list.Count - 1);
        string context = "The list reads: " + string.Join(", ", list) + ".";
        int start = context.IndexOf(", " + list[at + 1] + (at + 2 < list.Count ? "," : "."), StringComparison.Ordinal) + 2;
        return (context, $"Which word comes right after {list[at]} in the list?", list[at + 1], start);
    }

    // "The list reads: A, B, C." — what does the list read? (A, B, C)
    static (string, string, string, int) WholeList(List<string> words)
    {
        var list = words.Take(words.Count / 2).ToList();
        const string Lead = "The list reads: ";
        return (Lead + string.Join(", ", list) + ".", "What does the list read?", string.Join(", ", list), Lead.Length);
    }

    // "Kavorin goes with Brathel. Stumix goes with Dorafen." — what goes with Stumix?
    static (string, string, string, int) PairedValue(List<string> words, Random random)
    {
        int pairs = words.Count / 2;
        var lines = Enumerable.Range(0, pairs).Select(p => $"{words[2 * p]} goes with {words[2 * p + 1]}.").ToList();
        int asked = random.Next(pairs);
        string context = string.Join(" ", lines);
        string key = $"{words[2 * asked]} goes with ";
        int start = context.IndexOf(key, StringComparison.Ordinal) + key.Length;
        return (context, $"Which word goes with {words[2 * asked]}?", words[2 * asked + 1], start);
    }
}
