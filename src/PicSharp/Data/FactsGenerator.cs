using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>How long generated contexts are: a token range (estimated as words × 1.3), or a number of entities.</summary>
public sealed record PassageSize(int MinTokens = 100, int MaxTokens = 2000, int? MinEntities = null, int? MaxEntities = null)
{
    public bool ByEntities => MinEntities is not null || MaxEntities is not null;

    /// <summary>
    /// The token estimate used for context lengths (no tokenizer needed): words × 1.3, plus one per UTF-8 byte of
    /// every non-ASCII character, because an English byte-level BPE has few merges for them (a Greek letter is about
    /// two tokens, a Han character three). ASCII text is estimated as words × 1.3 alone.
    /// </summary>
    public static int EstimateTokens(string text)
    {
        double tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length * 1.3;
        foreach (char c in text)
            if (c > 127) tokens += c < 0x800 ? 2 : 3;
        return (int)Math.Ceiling(tokens);
    }
}

/// <summary>
/// Entity-attribute passages: invented people and organisations, each described by several attribute sentences in
/// varied phrasings, several entities per passage with the same kinds of attributes (so the question's entity must be
/// found), and questions that ask one attribute of one entity; the answer is a span of the passage.
/// Names come from <see cref="NameInventory"/>, so train, dev and test never share an entity, place or pet name.
/// </summary>
public sealed partial class FactsGenerator
{
    public int QuestionsPerContext { get; init; } = 1;

    public List<SquadExample> Generate(DataSplit split, int count, int seed, PassageSize size)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "count must be at least 1");
        if (!size.ByEntities && (size.MinTokens < 1 || size.MaxTokens < size.MinTokens))
            throw new InvalidInputException($"need 1 <= min tokens <= max tokens, got {size.MinTokens}..{size.MaxTokens}");
        var random = new Random(seed);
        var names = new NameInventory(split, random);
        var examples = new List<SquadExample>();
        for (int passage = 0; examples.Count < count; passage++)
        {
            var (context, entities) = Passage(random, names, size);
            // A passage's questions ask different facts while it has unasked ones.
            var asked = new HashSet<Fact>();
            int factCount = entities.Sum(e => e.Facts.Count);
            for (int q = 0; q < QuestionsPerContext && examples.Count < count; q++)
            {
                Entity entity;
                Fact fact;
                do
                {
                    entity = entities[random.Next(entities.Count)];
                    fact = entity.Facts[random.Next(entity.Facts.Count)];
                } while (!asked.Add(fact) && asked.Count < factCount);
                var ask = fact.Attribute.Asks[random.Next(fact.Attribute.Asks.Length)];
                string question = Fill(ask.Templates[random.Next(ask.Templates.Length)], entity, fact);
                string answer = ask.Answer(fact.Value);
                int start = fact.ValueStart + fact.Value.IndexOf(answer, StringComparison.Ordinal);
                examples.Add(new SquadExample($"facts-{split.QaName()}-{seed}-{passage}-{q}", $"facts {split.QaName()} {passage}",
                    context, question, [new SquadAnswer(answer, start)]));
            }
        }
        return examples;
    }

    /// <summary>Entities' paragraphs, added until the passage reaches a length drawn from the requested range.</summary>
    (string Context, List<Entity> Entities) Passage(Random random, NameInventory names, PassageSize size)
    {
        while (true)
        {
            var text = new StringBuilder();
            var entities = new List<Entity>();
            int? entityTarget = size.ByEntities
                ? random.Next(size.MinEntities ?? 1, (size.MaxEntities ?? size.MinEntities ?? 1) + 1) : null;
            int tokenTarget = random.Next(size.MinTokens, size.MaxTokens + 1);
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                if (entityTarget is int n ? entities.Count >= n : PassageSize.EstimateTokens(text.ToString()) >= tokenTarget) break;
                var entity = NewEntity(random, names, entities);
                string paragraph = Describe(entity, random, text.Length == 0 ? 0 : text.Length + 2);
                if (entityTarget is null && PassageSize.EstimateTokens(text + " " + paragraph) > size.MaxTokens)
                {
                    if (entities.Count > 0) break;
                    continue;
                }
                if (text.Length > 0) text.Append("\n\n");
                text.Append(paragraph);
                entities.Add(entity);
            }
            string context = text.ToString();
            if (entities.Count > 0 && (size.ByEntities || PassageSize.EstimateTokens(context) >= size.MinTokens))
                return (context, entities);
        }
    }

    /// <summary>A person or organisation whose names differ from those already in the passage.</summary>
    static Entity NewEntity(Random random, NameInventory names, List<Entity> others)
    {
        while (true)
        {
            bool person = random.NextDouble() < 0.7;
            Entity entity = person
                ? new Entity(EntityKind.Person, names.Word() + " " + names.Word(), random.Next(2) == 0 ? Gender.Female : Gender.Male)
                : new Entity(EntityKind.Organisation, names.Word() + " " + Pick(random, Vocabulary.OrganisationSuffixes), Gender.Neuter);
            bool clashes = others.Any(o => o.Short == entity.Short || o.Name.Split(' ')[0] == entity.Name.Split(' ')[0]);
            if (clashes) continue;
            var attributes = FactKind.All.Where(a => a.Kind == entity.Kind).OrderBy(_ => random.Next()).ToList();
            int kept = random.Next(Math.Min(4, attributes.Count), attributes.Count + 1);
            foreach (var attribute in attributes.Take(kept))
                entity.Facts.Add(new Fact(attribute, attribute.Value(random, names), attribute.Detail?.Invoke(random)));
            return entity;
        }
    }

    /// <summary>One sentence per fact, the first naming the entity in full; records where each value sits.</summary>
    static string Describe(Entity entity, Random random, int paragraphStart)
    {
        var text = new StringBuilder();
        for (int i = 0; i < entity.Facts.Count; i++)
        {
            var fact = entity.Facts[i];
            var reference = i == 0 ? Reference.FullName : (Reference)random.Next(3);
            if (i > 0) text.Append(' ');
            string template = Pick(random, fact.Attribute.Statements);
            if (random.NextDouble() < 0.15) text.Append(Fill(Pick(random, Vocabulary.Fillers), entity, null, reference)).Append(' ');
            var pieces = Placeholder().Split(template);
            // Regex.Split keeps the captured names at odd indices.
            for (int p = 0; p < pieces.Length; p++)
            {
                if (p % 2 == 0) { text.Append(pieces[p]); continue; }
                if (pieces[p] == "V") fact.ValueStart = paragraphStart + text.Length;
                text.Append(Slot(pieces[p], entity, fact, reference, atSentenceStart: text.Length == 0 || text[^1] == ' ' && IsSentenceStart(text)));
            }
        }
        return text.ToString();
    }

    static bool IsSentenceStart(StringBuilder text) => text.Length < 2 || text[^2] == '.';

    /// <summary>Fills a question or filler template (no value slot position needed).</summary>
    static string Fill(string template, Entity entity, Fact? fact, Reference reference = Reference.FullName)
    {
        var pieces = Placeholder().Split(template);
        var text = new StringBuilder();
        for (int p = 0; p < pieces.Length; p++)
            text.Append(p % 2 == 0 ? pieces[p] : Slot(pieces[p], entity, fact, reference, atSentenceStart: text.Length == 0));
        return text.ToString();
    }

    static string Fill(string template, Entity entity, Fact fact) => Fill(template, entity, fact, Reference.FullName);

    /// <summary>
    /// Slots: N full name, S subject (full name, short name or pronoun), Sp its possessive, p/P pronoun and possessive
    /// pronoun in lower case, V the value, A "a"/"an" for the value, K the fact's detail (e.g. the kind of pet).
    /// </summary>
    static string Slot(string name, Entity entity, Fact? fact, Reference reference, bool atSentenceStart) => name switch
    {
        "N" => entity.Name,
        "S" => Capitalise(entity.Subject(reference), atSentenceStart),
        "Sp" => Capitalise(entity.Possessive(reference), atSentenceStart),
        "p" => entity.Pronoun,
        "P" => entity.PossessivePronoun,
        "V" => fact!.Value,
        "A" => "aeiou".Contains(fact!.Value[0]) ? "an" : "a",
        "K" => fact!.Detail!,
        _ => throw new InvalidOperationException($"unknown template slot {{{name}}}"),
    };

    static string Capitalise(string text, bool atSentenceStart) =>
        atSentenceStart && text.Length > 0 ? char.ToUpperInvariant(text[0]) + text[1..] : text;

    internal static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex Placeholder();

    internal enum EntityKind { Person, Organisation }
    enum Gender { Female, Male, Neuter }
    enum Reference { FullName, ShortName, Pronoun }

    sealed class Entity(EntityKind kind, string name, Gender gender)
    {
        public EntityKind Kind { get; } = kind;
        public string Name { get; } = name;
        /// <summary>The surname of a person, the first word of an organisation.</summary>
        public string Short => Kind == EntityKind.Person ? Name.Split(' ')[1] : Name.Split(' ')[0];
        public List<Fact> Facts { get; } = [];

        public string Pronoun => gender switch { Gender.Female => "she", Gender.Male => "he", _ => "it" };
        public string PossessivePronoun => gender switch { Gender.Female => "her", Gender.Male => "his", _ => "its" };

        public string Subject(Reference reference) => reference switch
        {
            Reference.FullName => Name,
            Reference.ShortName => Short,
            _ => Kind == EntityKind.Person ? Pronoun : "the company",
        };

        public string Possessive(Reference reference) => reference switch
        {
            Reference.Pronoun => Kind == EntityKind.Person ? PossessivePronoun : "the company's",
            _ => Subject(reference) + (Subject(reference).EndsWith('s') ? "'" : "'s"),
        };
    }

    sealed class Fact(FactKind attribute, string value, string? detail)
    {
        public FactKind Attribute { get; } = attribute;
        public string Value { get; } = value;
        public string? Detail { get; } = detail;
        /// <summary>Character offset of the value in the passage, set when the sentence is written.</summary>
        public int ValueStart { get; set; } = -1;
    }
}
