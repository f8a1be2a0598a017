using System.Text;

namespace PicSharp.Data;

/// <summary>
/// Dictionary passages: several lexicon entries per passage, one line each in varied wording; a question asks what
/// a word means (answer: its definition) or which word has a given meaning (answer: the word). Both answers are
/// spans. The lexicon split (words hashed into train/dev/test) keeps the sets disjoint in words.
/// </summary>
public sealed class DefinitionsGenerator(IReadOnlyList<LexiconEntry> lexicon)
{
    /// <summary>Usable entries: a plain word and a definition of 3–25 words that does not contain the word itself.</summary>
    readonly List<(string Word, string Definition)> pool = lexicon
        .Where(e => CorpusBuilder.IsLexiconWord(e.Word))
        .Select(e => (e.Word, Definition: e.Definitions.Select(d => d.Trim().TrimEnd('.', ';', ' ')).FirstOrDefault(d =>
            d.Split(' ').Length is >= 3 and <= 25 && !d.Contains(e.Word, StringComparison.OrdinalIgnoreCase))))
        .Where(e => e.Definition is not null)
        .Select(e => (e.Word, e.Definition!))
        .ToList();

    public int QuestionsPerContext { get; init; } = 1;

    static readonly string[] EntryFormats = ["{W}: {D}.", "{W} means {D}.", "The word \"{W}\" means {D}.", "{W} is defined as {D}."];
    static readonly string[] MeaningQuestions = ["What does \"{W}\" mean?", "What is the meaning of the word \"{W}\"?",
        "How is \"{W}\" defined?", "What is the definition of \"{W}\"?"];
    static readonly string[] WordQuestions = ["Which word means \"{D}\"?", "What word is defined as \"{D}\"?",
        "Which word has the meaning \"{D}\"?"];

    public List<SquadExample> Generate(DataSplit split, int count, int seed, PassageSize size)
    {
        if (pool.Count < 2) throw new InvalidInputException($"the lexicon has {pool.Count} usable entries; at least 2 are needed");
        var random = new Random(seed);
        var examples = new List<SquadExample>();
        for (int passage = 0; examples.Count < count; passage++)
        {
            var (context, entries) = Passage(random, size);
            for (int q = 0; q < QuestionsPerContext && examples.Count < count; q++)
            {
                var entry = entries[random.Next(entries.Count)];
                bool askMeaning = random.Next(2) == 0;
                string template = FactsGenerator.Pick(random, askMeaning ? MeaningQuestions : WordQuestions);
                string question = template.Replace("{W}", entry.Word).Replace("{D}", entry.Definition);
                var answer = askMeaning ? new SquadAnswer(entry.Definition, entry.DefinitionStart) : new SquadAnswer(entry.Shown, entry.WordStart);
                examples.Add(new SquadExample($"definitions-{split.QaName()}-{seed}-{passage}-{q}",
                    $"definitions {split.QaName()} {passage}", context, question, [answer]));
            }
        }
        return examples;
    }

    /// <summary>An entry as written in the passage; `Shown` is the word as it appears (capitalised at a line start).</summary>
    sealed record PlacedEntry(string Word, string Shown, string Definition, int WordStart, int DefinitionStart);

    (string Context, List<PlacedEntry> Entries) Passage(Random random, PassageSize size)
    {
        int target = size.ByEntities
            ? random.Next(size.MinEntities ?? 1, (size.MaxEntities ?? size.MinEntities ?? 1) + 1)
            : random.Next(size.MinTokens, size.MaxTokens + 1);
        var text = new StringBuilder();
        var entries = new List<PlacedEntry>();
        var usedWords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var usedDefinitions = new HashSet<string>();
        for (int attempt = 0; attempt < 10 * pool.Count && entries.Count < pool.Count; attempt++)
        {
            if (size.ByEntities ? entries.Count >= target : PassageSize.EstimateTokens(text.ToString()) >= target) break;
            var (word, definition) = pool[random.Next(pool.Count)];
            if (!usedWords.Add(word) || !usedDefinitions.Add(definition)) continue;
            string format = FactsGenerator.Pick(random, EntryFormats);
            string shown = format.StartsWith("{W}") ? char.ToUpperInvariant(word[0]) + word[1..] : word;
            int lineStart = text.Length == 0 ? 0 : text.Length + 1;
            string line = format.Replace("{W}", shown).Replace("{D}", definition);
            if (!size.ByEntities && entries.Count > 0 && PassageSize.EstimateTokens(text + " " + line) > size.MaxTokens) break;
            if (text.Length > 0) text.Append('\n');
            text.Append(line);
            int wordStart = lineStart + format.IndexOf("{W}", StringComparison.Ordinal);
            int definitionStart = lineStart + format.Replace("{W}", shown).IndexOf("{D}", StringComparison.Ordinal);
            entries.Add(new PlacedEntry(word, shown, definition, wordStart, definitionStart));
        }
        return (text.ToString(), entries);
    }
}
