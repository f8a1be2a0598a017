using System.Globalization;
using System.Text;

namespace PicSharp.Data;

/// <summary>
/// The dev/test proxy for "passages written by someone else": people described with names, places, sentence
/// templates, question phrasings and relation words that no training generator uses (a test checks this against
/// <see cref="FactsGenerator"/> and <see cref="ReadingGenerator"/>). Its names are realistic ones from many languages
/// (with diacritics, Greek, Cyrillic, Han and Hangul) where training names are invented from syllables. Passages
/// describe 1, 3, 6 or 12 people (or the given range), with weekday and place sentences about nobody's asked fact.
/// It makes dev and test sets only, disjoint in names; it is never used for training.
/// </summary>
public sealed class HeldOutGenerator
{
    public int QuestionsPerContext { get; init; } = 1;

    // Own slot syntax (<name>, <value>, ...) so nothing is shared with the training generators' template engine.
    internal sealed record Kind(string Key, string[] Statements, string[] Questions, string[]? Details = null);

    internal static readonly Kind[] Kinds =
    [
        new("birthplace",
            ["<Name> was born in the town of <value>.", "<value> is <name>'s hometown; <he> was born there.",
             "<Name> comes from <value>, where <he> was born.", "Born in <value>, <name> moved away at the age of nine.",
             "<Name>'s birth took place in <value>."],
            ["What town was <name> born in?", "What is the place where <name> was born?", "Which town is <name> from by birth?",
             "<name>'s birthplace is what town?"]),
        new("residence",
            ["<Name> currently lives in <value>.", "<Name> has made <his> home in <value>.", "For the last ten years <name> has lived in <value>.",
             "<Name>'s flat is in <value>.", "Nowadays <name> is based in <value>."],
            ["Which town does <name> live in?", "Where is <name> living now?", "Where is <name>'s flat?", "In what city is <name> based?"]),
        new("job",
            ["<Name> makes <his> money as <a> <value>.", "Professionally, <name> is known as <a> <value>.",
             "<Name> has been <a> <value> since leaving school.", "Ask anyone: <name> is the best <value> around."],
            ["What is <name>'s line of work?", "What does <name> do professionally?", "Which job does <name> do?",
             "What is <name> known as professionally?"]),
        new("workplace",
            ["<Name> works at a firm called <value>.", "<Name> took a position with <value> after university.",
             "These days <name> is on the staff of <value>.", "<Name> is one of the people who work at <value>."],
            ["Which firm does <name> work at?", "What organisation does <name> work for?", "Who is <name>'s current employer?",
             "<name> is on the staff of which firm?"]),
        new("birthday",
            ["<Name>'s birthday is <value>.", "<Name> arrived in the world on <value>.", "The records list <value> as <name>'s birth date.",
             "<Name> celebrates the day <he> was born, <value>, every year."],
            ["On which date was <name> born?", "When is <name>'s birthday?", "What birth date do the records give for <name>?",
             "What day was <name> born?"]),
        new("pet",
            ["<Name> looks after a <detail> whose name is <value>.", "A <detail> named <value> lives with <name>.",
             "<Name> walks <his> <detail>, <value>, twice a day."],
            ["What is the name of the <detail> that lives with <name>?", "What is <name>'s <detail> named?",
             "Which <detail> does <name> look after?"],
            ["dog", "cat", "parrot", "rabbit", "hedgehog", "tortoise"]),
        new("music",
            ["<Name> is learning the <value>.", "On weekends <name> performs on the <value>.", "<Name>'s instrument of choice is the <value>."],
            ["Which instrument is <name> learning?", "What instrument does <name> perform on?", "What is <name>'s instrument of choice?"]),
        new("kin",
            ["<Name> has <a-detail> <detail> called <value>.", "<value>, <name>'s <detail>, visits often.",
             "<Name> spends holidays with <his> <detail>, <value>."],
            ["Can you name <name>'s <detail>?", "Tell me the name of <name>'s <detail>.", "Who does <name> call <his> <detail>?"],
            ["older sister", "younger brother", "aunt", "uncle", "grandmother", "colleague", "tutor", "godson"]),
    ];

    /// <summary>Sentences about weekdays and places that answer no question (the distractors the issue saw confuse the model).</summary>
    internal static readonly string[] Asides =
    [
        "On <weekday>s <name> takes the bus to <place>.", "<Name> went to <place> last <weekday>.",
        "Every <weekday>, <name> phones a friend in <place>.", "<Name> does not work on <weekday>s.",
    ];

    // No name below can be built by the training generators' syllable rules (a test checks sampled training text).
    internal static readonly (string Name, bool Female)[] GivenNames =
    [
        ("Ingrid", true), ("Mateus", false), ("Aoife", true), ("Tomasz", false), ("Zoë", true), ("Björn", false),
        ("Chiara", true), ("Dmitri", false), ("Amara", true), ("Kenji", false), ("Léa", true), ("Rafael", false),
        ("Nadia", true), ("Émile", false), ("Sigrún", true), ("Oluwaseun", false), ("Mei", true), ("Jiří", false),
        ("Ana", true), ("Hamid", false), ("Freya", true), ("Luca", false), ("Thandiwe", true), ("Iñigo", false),
        ("Saoirse", true), ("Pål", false), ("Małgorzata", true), ("Shōta", false), ("Camila", true), ("Rashid", false),
        ("Anneke", true), ("Asbjørn", false), ("Elif", true), ("Gonçalo", false), ("Ελένη", true), ("Γιώργος", false),
        ("Наталья", true), ("Игорь", false), ("Светлана", true), ("Ярослав", false), ("Ottilie", true), ("Ólafur", false),
        ("Brígida", true), ("Kwame", false), ("Agnieszka", true), ("Matthias", false), ("Renée", true), ("Çağan", false),
    ];

    internal static readonly string[] FamilyNames =
    [
        "Solberg", "Oliveira", "Gallagher", "Wiśniewski", "Fairbanks", "Lindqvist", "Moretti", "Volkov", "Okonkwo",
        "Takahashi", "Dubois", "Castellanos", "Haddad", "Lefèvre", "Jónsdóttir", "Adeyemi", "Lindgren", "Novák", "Ferreira",
        "Karimova", "Whitlock", "Bianchi", "Ndlovu", "Etxeberria", "Ní Bhriain", "Haugen", "Kowalczyk", "Matsumoto",
        "Restrepo", "Mansour", "de Vries", "Kjærgaard", "Yılmaz", "Magalhães", "Παπαδοπούλου", "Καραγιάννης",
        "Смирнова", "Кузнецов", "Орлова", "Šimůnek", "Østergaard", "Gruber", "Mensah", "Dąbrowska", "Thornbury",
    ];

    /// <summary>Names written family-first without a space, in characters no training name uses.</summary>
    internal static readonly string[] BlockNames = ["诸葛亮", "欧阳娜", "上官婉", "东方朔", "夏侯惇", "남궁별", "제갈솔", "독고탁", "선엽", "황보늘"];

    internal static readonly string[] Places =
    [
        "Tromsø", "Kraków", "São Luís", "Ærøskøbing", "Łódź", "Győr", "Zürich", "Mérignac", "Brașov", "Česká Lípa",
        "Reykjavík", "Ålesund", "Jyväskylä", "Köln", "Almería", "Besançon", "Cádiz", "Poznań", "Θεσσαλονίκη", "Ηράκλειο",
        "Новгород", "Самара", "苏州", "杭州", "부산", "Millbrook", "Ashcombe", "Kettering", "Dunmore", "Port Elspeth",
        "Valparaíso", "Guimarães", "Oulu", "Bergamo", "Tartu", "Nîmes", "Hveragerði", "Ciudad Real", "Swakopmund", "Galway",
    ];

    internal static readonly string[] Employers =
    [
        "Halvorsen & Dahl", "Brightwater Foods", "Nordvik Shipping", "Café Lumière", "Østfold Energi", "Kowalczyk Printing",
        "Bluefin Analytics", "Marlowe Publishing", "Santos Engenharia", "Greenway Transit", "Hôtel du Lac", "Tiller & Quay",
        "Ferncliff Hospital", "Aurora Ceramics", "Pérez Hermanos", "Kestrel Aviation", "Rautio Timber", "Stellmacher AG",
    ];

    static readonly string[] Jobs = ["paramedic", "carpenter", "translator", "violin teacher", "bookkeeper", "gardener",
        "zoologist", "sommelier", "tour guide", "welder", "radio presenter", "architect", "pharmacist", "court reporter",
        "ophthalmologist", "ferry captain", "seamstress", "archivist"];

    static readonly string[] Instruments = ["cello", "oud", "clavichord", "euphonium", "harmonium", "djembe", "koto",
        "cornet", "hurdy-gurdy", "lute", "marimba", "bandoneon"];

    internal static readonly string[] PetNames = ["Biscuit", "Pepper", "Dumpling", "Ziggy", "Oakley", "Pixel", "Sprout",
        "Rocco", "Pickles", "Nugget", "Pirate", "Waffles", "Cosmo", "Sólveig", "Бублик"];

    static readonly string[] Weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    static readonly int[] DefaultPeopleCounts = [1, 3, 6, 12];

    /// <summary>Dev and test use disjoint halves of every name, place and employer list.</summary>
    static List<T> Half<T>(IEnumerable<T> items, Func<T, string> key, DataSplit split) =>
        items.Where(item => DataSplits.StableHash("held-out:" + key(item)) % 2 == (split == DataSplit.Test ? 0UL : 1UL)).ToList();

    sealed record Person(string Name, bool Female)
    {
        public string He => Female ? "she" : "he";
        public string His => Female ? "her" : "his";
    }

    public List<SquadExample> Generate(DataSplit split, int count, int seed, PassageSize size)
    {
        if (split == DataSplit.Train)
            throw new InvalidInputException("the held-out generator makes dev and test sets only; it is never trained on");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "count must be at least 1");
        if (QuestionsPerContext < 1) throw new InvalidInputException($"questions per context must be at least 1, got {QuestionsPerContext}");
        var random = new Random(seed);
        var given = Half(GivenNames, g => g.Name, split);
        var family = Half(FamilyNames, f => f, split);
        var block = Half(BlockNames, b => b, split);
        var places = Half(Places, p => p, split);
        var employers = Half(Employers, e => e, split);
        var pets = Half(PetNames, p => p, split);
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

        var examples = new List<SquadExample>(count);
        for (int passage = 0; examples.Count < count; passage++)
        {
            int peopleCount = size.ByEntities
                ? random.Next(size.MinEntities ?? 1, (size.MaxEntities ?? size.MinEntities ?? 1) + 1)
                : DefaultPeopleCounts[passage % DefaultPeopleCounts.Length];
            var people = new List<Person>();
            while (people.Count < peopleCount)
            {
                Person person;
                if (random.Next(10) == 0) person = new Person(Pick(block), random.Next(2) == 0);
                else
                {
                    var (first, female) = Pick(given);
                    person = new Person(first + " " + Pick(family), female);
                }
                // Neither the full name nor either part of it may repeat within a passage.
                if (people.Any(p => p.Name.Split(' ').Intersect(person.Name.Split(' ')).Any())) continue;
                people.Add(person);
            }

            var (context, facts) = Describe(people, random, places, employers, pets, given, family);
            // A passage over the length limit is drawn again (at most a few times, then kept: it is an eval set).
            for (int retry = 0; retry < 20 && PassageSize.EstimateTokens(context) > size.MaxTokens; retry++)
                (context, facts) = Describe(people, random, places, employers, pets, given, family);
            var order = facts.OrderBy(_ => random.Next()).ToList();
            for (int q = 0; q < QuestionsPerContext && examples.Count < count; q++)
            {
                var fact = order[q % order.Count];
                string question = Pick(fact.Kind.Questions).Replace("<name>", fact.Person.Name)
                    .Replace("<detail>", fact.Detail ?? "").Replace("<his>", fact.Person.His);
                question = char.ToUpper(question[0], CultureInfo.InvariantCulture) + question[1..];
                examples.Add(new SquadExample($"heldout-{split.QaName()}-{seed}-{passage}-{q}", $"heldout {split.QaName()} {passage}",
                    context, question, [new SquadAnswer(fact.Value, fact.Start)]));
            }
        }
        return examples;
    }

    /// <summary>A paragraph of two to four facts per person, with a weekday aside now and then.</summary>
    static (string Context, List<(Person Person, Kind Kind, string? Detail, string Value, int Start)> Facts) Describe(
        List<Person> people, Random random, List<string> places, List<string> employers, List<string> pets,
        List<(string Name, bool Female)> given, List<string> family)
    {
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
        var text = new StringBuilder();
        var facts = new List<(Person Person, Kind Kind, string? Detail, string Value, int Start)>();
        foreach (var person in people)
        {
            if (text.Length > 0) text.Append("\n\n");
            var kinds = Kinds.OrderBy(_ => random.Next()).Take(random.Next(2, 5)).ToList();
            bool first = true;
            foreach (var kind in kinds)
            {
                string? detail = kind.Details is null ? null : Pick(kind.Details);
                string value = kind.Key switch
                {
                    "birthplace" or "residence" => Pick(places),
                    "job" => Pick(Jobs),
                    "workplace" => Pick(employers),
                    "birthday" => new DateTime(random.Next(1935, 2006), random.Next(1, 13), random.Next(1, 29))
                        .ToString("d MMMM yyyy", CultureInfo.InvariantCulture),
                    "pet" => Pick(pets),
                    "music" => Pick(Instruments),
                    _ => Pick(given).Name + " " + Pick(family),
                };
                if (!first) text.Append(' ');
                int start = Write(text, Pick(kind.Statements), person, value, detail, first);
                facts.Add((person, kind, detail, value, start));
                first = false;
                if (random.Next(4) == 0)
                {
                    text.Append(' ');
                    Write(text, Pick(Asides).Replace("<weekday>", Pick(Weekdays)).Replace("<place>", Pick(places)), person, "", null, false);
                }
            }
        }
        return (text.ToString(), facts);
    }

    /// <summary>Appends one sentence; returns where its value starts (-1 without one). The first sentence about a
    /// person names them; later ones use the pronoun where the template starts with the name.</summary>
    static int Write(StringBuilder text, string template, Person person, string value, string? detail, bool first)
    {
        string subject = first ? person.Name : person.He;
        string sentence = template
            .Replace("<Name>", char.ToUpper(subject[0], CultureInfo.InvariantCulture) + subject[1..])
            .Replace("<name>", person.Name)
            .Replace("<He>", char.ToUpper(person.He[0], CultureInfo.InvariantCulture) + person.He[1..])
            .Replace("<he>", person.He).Replace("<his>", person.His)
            .Replace("<a-detail>", detail is null ? "" : "aeiou".Contains(detail[0]) ? "an" : "a")
            .Replace("<detail>", detail ?? "")
            .Replace("<a>", value.Length > 0 && "aeiou".Contains(value[0]) ? "an" : "a");
        // "'s" after a pronoun subject would be wrong ("she's birth"): such templates keep the name.
        if (!first && template.StartsWith("<Name>'s")) sentence = person.Name + sentence[(subject.Length)..];
        int at = sentence.IndexOf("<value>", StringComparison.Ordinal);
        int start = at < 0 ? -1 : text.Length + at;
        text.Append(sentence.Replace("<value>", value));
        return start;
    }
}
