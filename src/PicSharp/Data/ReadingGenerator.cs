using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>
/// Passages about invented people that can only be answered by reading: 18 kinds of facts (three with invented
/// relation or attribute words the question must be matched against), each stated in many phrasings, several people
/// per passage with facts of the same kinds (distractors), sentences that name a wrong value of the same type before
/// the right one, filler sentences with places, weekdays and dates, and three layouts (a paragraph per person,
/// everyone's sentences interleaved, profiles of "Label: value" lines). Names and places come in six writing systems
/// (<see cref="ScriptNames"/>), disjoint between train, dev and test. Every answer is a span of the passage.
/// </summary>
public sealed partial class ReadingGenerator
{
    public int QuestionsPerContext { get; init; } = 1;

    static readonly string[] QuestionLeads = ["According to the passage, ", "Based on the text, ", "From the passage: ",
        "In the text above, ", "Reading the passage, "];

    public List<SquadExample> Generate(DataSplit split, int count, int seed, PassageSize size)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "count must be at least 1");
        if (QuestionsPerContext < 1) throw new InvalidInputException($"questions per context must be at least 1, got {QuestionsPerContext}");
        if (!size.ByEntities && (size.MinTokens < 1 || size.MaxTokens < size.MinTokens))
            throw new InvalidInputException($"need 1 <= min tokens <= max tokens, got {size.MinTokens}..{size.MaxTokens}");
        var random = new Random(seed);
        var names = new ScriptNames(split, random);
        var examples = new List<SquadExample>(count);
        for (int passage = 0; examples.Count < count; passage++)
        {
            var world = new PassageWorld(random, names);
            var (context, people) = Passage(world, size);
            var facts = people.SelectMany(p => p.Facts.Select(f => (Person: p, Fact: f))).OrderBy(_ => random.Next()).ToList();
            for (int q = 0; q < QuestionsPerContext && examples.Count < count; q++)
            {
                // A passage's questions ask different facts while it has unasked ones.
                var (person, fact) = facts[q % facts.Count];
                var ask = fact.Kind.Asks[random.Next(fact.Kind.Asks.Length)];
                string question = Question(ask.Templates[random.Next(ask.Templates.Length)], person, fact, people, random);
                string answer = ask.Answer(fact.Value);
                int start = fact.ValueStart + fact.Value.IndexOf(answer, StringComparison.Ordinal);
                examples.Add(new SquadExample($"reading-{split.QaName()}-{seed}-{passage}-{q}", $"reading {split.QaName()} {passage}",
                    context, question, [new SquadAnswer(answer, start)]));
            }
        }
        return examples;
    }

    enum Layout { Paragraphs, Interleaved, Profiles }
    enum Reference { FullName, ShortName, Pronoun }

    /// <summary>People added until the passage reaches a length drawn from the range (or the drawn number of people).</summary>
    static (string Context, List<Person> People) Passage(PassageWorld world, PassageSize size)
    {
        var random = world.Random;
        while (true)
        {
            double u = random.NextDouble();
            var layout = u < 0.6 ? Layout.Paragraphs : u < 0.8 ? Layout.Interleaved : Layout.Profiles;
            int? peopleTarget = size.ByEntities ? random.Next(size.MinEntities ?? 1, (size.MaxEntities ?? size.MinEntities ?? 1) + 1) : null;
            int tokenTarget = random.Next(size.MinTokens, size.MaxTokens + 1);
            var people = new List<Person>();
            string context = "";
            var valueStarts = new Dictionary<Fact, int>();
            for (int attempt = 0; attempt < 200; attempt++)
            {
                if (peopleTarget is int n ? people.Count >= n : PassageSize.EstimateTokens(context) >= tokenTarget) break;
                people.Add(NewPerson(world, people));
                // The whole passage is re-rendered so interleaved layouts can place the newcomer's sentences anywhere.
                var starts = new Dictionary<Fact, int>();
                string longer = Render(world, people, layout, starts);
                if (peopleTarget is null && PassageSize.EstimateTokens(longer) > size.MaxTokens)
                {
                    people.RemoveAt(people.Count - 1);
                    if (people.Count > 0) break;
                    continue;
                }
                (context, valueStarts) = (longer, starts);
            }
            if (people.Count == 0) continue;
            foreach (var fact in people.SelectMany(p => p.Facts)) fact.ValueStart = valueStarts[fact];
            // A passage of a drawn number of people is still held to the maximum length (redrawn when over it).
            int tokens = PassageSize.EstimateTokens(context);
            if (size.ByEntities ? tokens <= size.MaxTokens : tokens >= size.MinTokens) return (context, people);
        }
    }

    static Person NewPerson(PassageWorld world, List<Person> others)
    {
        var random = world.Random;
        while (true)
        {
            var script = world.Names.PickScript();
            var (given, family) = world.Names.Person(script);
            var person = new Person(script, given, family, random.Next(2) == 0, random.Next());
            bool clashes = others.Any(o => o.Given == given || o.Family == family || o.FullName == person.FullName);
            if (clashes) continue;
            var kinds = ReadingFactKind.All.OrderBy(_ => random.Next()).Take(random.Next(3, 9)).ToList();
            foreach (var kind in kinds)
            {
                string value = kind.Value(world);
                string? detail = kind.Detail?.Invoke(world);
                string distractor;
                do distractor = kind.Value(world); while (distractor == value);
                person.Facts.Add(new Fact(kind, value, detail, distractor));
            }
            return person;
        }
    }

    /// <summary>The passage text in one layout; records in <paramref name="valueStarts"/> where each fact's value sits.</summary>
    static string Render(PassageWorld world, List<Person> people, Layout layout, Dictionary<Fact, int> valueStarts)
    {
        var text = new StringBuilder();
        if (layout == Layout.Profiles)
        {
            foreach (var person in people)
            {
                var random = new Random(person.Seed);
                if (text.Length > 0) text.Append("\n\n");
                text.Append("Name: ").Append(person.FullName);
                foreach (var fact in person.Facts.OrderBy(_ => random.Next()))
                {
                    string label = FactsGenerator.Pick(random, fact.Kind.Labels).Replace("{K}", fact.Detail ?? "");
                    text.Append('\n').Append(char.ToUpperInvariant(label[0])).Append(label[1..]).Append(": ");
                    valueStarts[fact] = text.Length;
                    text.Append(fact.Value);
                }
            }
            return text.ToString();
        }

        // Each person's sentences (a fact, or null for a filler) in that person's own order.
        var items = new List<(Person Person, Fact? Fact)>();
        var perPerson = people.Select(p =>
        {
            var random = new Random(p.Seed);
            var own = new List<(Person, Fact?)>();
            foreach (var fact in p.Facts.OrderBy(_ => random.Next()))
            {
                own.Add((p, fact));
                if (random.NextDouble() < 0.25) own.Add((p, null));
            }
            return own;
        }).ToList();
        if (layout == Layout.Paragraphs) foreach (var own in perPerson) items.AddRange(own);
        else
        {
            // Interleaved: everyone's sentences in one shuffled order, a paragraph break every few sentences.
            var shuffle = new Random(people[0].Seed ^ people.Count);
            items.AddRange(perPerson.SelectMany(x => x).OrderBy(_ => shuffle.Next()));
        }

        var mentioned = new HashSet<Person>();
        var sentenceRandom = new Random(people.Sum(p => p.Seed % 100_000) + people.Count);
        Person? previous = null;
        int sentencesInParagraph = 0;
        foreach (var (person, fact) in items)
        {
            bool newParagraph = layout == Layout.Paragraphs ? previous is not null && previous != person
                : sentencesInParagraph >= 3 + sentenceRandom.Next(4);
            if (text.Length > 0) text.Append(newParagraph ? "\n\n" : " ");
            if (newParagraph) sentencesInParagraph = 0;
            sentencesInParagraph++;
            var reference = mentioned.Add(person) ? Reference.FullName
                : layout == Layout.Interleaved ? (sentenceRandom.Next(2) == 0 ? Reference.FullName : Reference.ShortName)
                : (Reference)sentenceRandom.Next(3);
            string template = fact is null ? FactsGenerator.Pick(sentenceRandom, ReadingFactKind.Fillers)
                : FactsGenerator.Pick(sentenceRandom, fact.Kind.Statements);
            AppendSentence(text, template, person, fact, reference, world, sentenceRandom, valueStarts);
            previous = person;
        }
        return text.ToString();
    }

    static void AppendSentence(StringBuilder text, string template, Person person, Fact? fact, Reference reference,
        PassageWorld world, Random random, Dictionary<Fact, int> valueStarts)
    {
        int sentenceStart = text.Length;
        var pieces = Placeholder().Split(template);
        // Regex.Split keeps the captured slot names at odd indices.
        for (int p = 0; p < pieces.Length; p++)
        {
            if (p % 2 == 0) { text.Append(pieces[p]); continue; }
            if (pieces[p] == "V") valueStarts[fact!] = text.Length;
            string slot = pieces[p] switch
            {
                "N" => person.FullName,
                "S" => person.Subject(reference),
                "Sp" => person.Possessive(reference),
                "p" => person.Pronoun,
                "P" => person.PossessivePronoun,
                "V" => fact!.Value,
                "A" => Article(fact!.Value),
                "X" => fact!.Distractor,
                "AX" => Article(fact!.Distractor),
                "K" => fact!.Detail!,
                "Q" => world.Place(),
                "D" => FactsGenerator.Pick(random, ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
                "O" => world.OtherPerson(),
                "T" => world.Date(),
                _ => throw new InvalidOperationException($"unknown template slot {{{pieces[p]}}}"),
            };
            // A pronoun (or a/an) opening the sentence is capitalised; values are never the first word of a sentence
            // in lower case, so their recorded spans stay exact.
            if (text.Length == sentenceStart && slot.Length > 0 && pieces[p] != "V") slot = char.ToUpperInvariant(slot[0]) + slot[1..];
            text.Append(slot);
        }
    }

    static string Article(string word) => "aeiouAEIOU".Contains(word[0]) ? "an" : "a";

    /// <summary>A question naming the person by full name, or by given or family name alone when that is unique.</summary>
    static string Question(string template, Person person, Fact fact, List<Person> people, Random random)
    {
        string name = person.FullName;
        if (ScriptNames.IsSpaced(person.Script))
        {
            double u = random.NextDouble();
            if (u < 0.12) name = person.Given;
            else if (u < 0.25) name = person.Family;
        }
        string question = template.Replace("{N}", name).Replace("{K}", fact.Detail ?? "").Replace("{P}", person.PossessivePronoun);
        if (random.NextDouble() < 0.2 && !template.StartsWith('{'))
            question = FactsGenerator.Pick(random, QuestionLeads) + char.ToLowerInvariant(question[0]) + question[1..];
        return question;
    }

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex Placeholder();

    sealed class Person(Script script, string given, string family, bool female, int seed)
    {
        public Script Script { get; } = script;
        public string Given { get; } = given;
        public string Family { get; } = family;
        /// <summary>Seeds this person's sentence order, so re-rendering a passage repeats it.</summary>
        public int Seed { get; } = seed;
        public List<Fact> Facts { get; } = [];
        public string FullName => ScriptNames.FullName(Script, Given, Family);
        string Short => ScriptNames.IsSpaced(Script) ? Family : FullName;
        public string Pronoun => female ? "she" : "he";
        public string PossessivePronoun => female ? "her" : "his";

        public string Subject(Reference reference) => reference switch
        {
            Reference.FullName => FullName,
            Reference.ShortName => Short,
            _ => Pronoun,
        };

        public string Possessive(Reference reference) => reference == Reference.Pronoun ? PossessivePronoun
            : Subject(reference) + (Subject(reference).EndsWith('s') ? "'" : "'s");
    }

    sealed class Fact(ReadingFactKind kind, string value, string? detail, string distractor)
    {
        public ReadingFactKind Kind { get; } = kind;
        public string Value { get; } = value;
        public string? Detail { get; } = detail;
        public string Distractor { get; } = distractor;
        /// <summary>Character offset of the value in the passage, set once the passage is final.</summary>
        public int ValueStart { get; set; } = -1;
    }
}
