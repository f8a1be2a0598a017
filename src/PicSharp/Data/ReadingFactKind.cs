using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>A way to ask for a reading fact: question phrasings and which part of the value is the answer.</summary>
sealed record ReadingAsk(string[] Templates, Func<string, string> Answer)
{
    public ReadingAsk(params string[] templates) : this(templates, value => value) { }
}

/// <summary>
/// One kind of fact about a person in <see cref="ReadingGenerator"/> passages: how its value (and detail, e.g. the
/// kind of pet or an invented relation word) is drawn, tens of sentences that state it, the labels a profile uses for
/// it, and the questions that ask it.
/// Statement slots: {S} subject (full name, short name or pronoun, chosen per sentence), {Sp} its possessive, {N} full
/// name, {p} pronoun, {P} possessive pronoun, {V} the value, {A} "a"/"an" for the value, {X} another value of the same
/// kind that is NOT the answer (a distractor in the same sentence), {AX} its article, {K} the detail.
/// Question slots: {N} the person as the question names them, {K}, {P}.
/// These pools are the training side; the independent held-out generator has its own (HeldOutGenerator).
/// </summary>
sealed partial record ReadingFactKind(
    string Key,
    Func<PassageWorld, string> Value,
    string[] Statements,
    string[] Labels,
    ReadingAsk[] Asks,
    Func<PassageWorld, string>? Detail = null)
{
    static readonly string[] Occupations = ["architect", "baker", "carpenter", "chemist", "dentist", "economist",
        "electrician", "engineer", "farmer", "firefighter", "florist", "geologist", "historian", "illustrator", "journalist",
        "judge", "librarian", "locksmith", "mechanic", "midwife", "nurse", "optician", "painter", "pharmacist", "photographer",
        "physicist", "pilot", "plumber", "potter", "surgeon", "tailor", "teacher", "translator", "veterinarian", "watchmaker",
        "beekeeper", "cartographer", "astronomer", "accountant", "sculptor", "bus driver", "marine biologist",
        "primary school teacher", "software developer", "air traffic controller", "tax adviser", "sound engineer",
        "museum curator", "lorry driver", "police officer", "social worker", "civil servant", "fishmonger", "glassblower",
        "bookbinder", "piano tuner", "ship's cook", "tram conductor", "wedding planner", "data analyst"];

    static readonly string[] Colours = ["amber", "aquamarine", "beige", "burgundy", "cerulean", "charcoal", "coral",
        "crimson", "emerald", "gold", "indigo", "ivory", "lavender", "lilac", "magenta", "maroon", "mustard", "navy blue",
        "ochre", "olive", "orange", "peach", "plum", "saffron", "scarlet", "silver", "teal", "turquoise", "vermilion", "violet",
        "pale green", "dark red", "sky blue", "bottle green", "rose pink"];

    static readonly string[] Instruments = ["accordion", "bagpipes", "banjo", "bassoon", "cello", "clarinet",
        "double bass", "drums", "flute", "French horn", "guitar", "harmonica", "harp", "harpsichord", "mandolin", "oboe",
        "organ", "piano", "saxophone", "sitar", "trombone", "trumpet", "tuba", "ukulele", "viola", "violin", "xylophone",
        "bouzouki", "balalaika", "tin whistle", "electric bass", "steel drum"];

    static readonly string[] Pets = ["cat", "dog", "parrot", "tortoise", "rabbit", "ferret", "goldfish", "horse",
        "hamster", "canary", "goat", "pony", "budgie", "guinea pig", "lizard"];

    static readonly string[] Languages = ["Portuguese", "Finnish", "Welsh", "Hungarian", "Tagalog", "Swahili", "Basque",
        "Icelandic", "Polish", "Greek", "Korean", "Turkish", "Dutch", "Catalan", "Yoruba", "Estonian", "Czech",
        "Vietnamese", "Romanian", "Danish", "Malay", "Georgian", "Armenian", "Latvian"];

    static readonly string[] Hobbies = ["birdwatching", "rock climbing", "chess", "pottery", "knitting", "sailing",
        "stamp collecting", "gardening", "fencing", "baking bread", "long-distance running", "woodcarving", "kite flying",
        "amateur astronomy", "origami", "fly fishing", "ballroom dancing", "model railways", "beekeeping", "calligraphy"];

    static readonly string[] Dishes = ["mushroom risotto", "lentil soup", "fish pie", "roast duck", "vegetable curry",
        "apple strudel", "pancakes", "goulash", "paella", "dumplings", "grilled sardines", "cheese fondue", "beetroot salad",
        "lemon tart", "pea soup", "baked aubergine", "rice pudding", "chicken stew"];

    internal static readonly string[] Relations = ["cousin", "best friend", "neighbour", "business partner", "mentor", "landlord",
        "dentist", "lawyer", "flatmate", "godparent", "doctor", "piano teacher", "accountant", "oldest friend"];

    static readonly string[] Weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    static string Pick(PassageWorld world, IReadOnlyList<string> items) => items[world.Random.Next(items.Count)];

    [GeneratedRegex(@"\d{4}")]
    private static partial Regex Year();

    public static readonly ReadingFactKind[] All =
    [
        new("birth-place", world => world.Place(),
            ["{S} was born in {V}.", "{S} was born and raised in {V}.", "{Sp} birthplace is {V}.", "{V} is where {N} was born.",
             "{N} is a native of {V}.", "{S} came into the world in {V}.", "{S} grew up in {X}, but {p} was born in {V}.",
             "Although {p} spent {P} childhood in {X}, {N} was actually born in {V}.", "{S} was not born in {X}; {p} was born in {V}.",
             "Records show that {N} was born in {V}.", "The town of {V} is {Sp} birthplace.", "{Sp} place of birth is listed as {V}.",
             "{N}, born in {V}, rarely talks about {P} childhood.", "{S} first saw the light of day in {V}.",
             "People often assume {N} is from {X}, but {p} was born in {V}.", "It was in {V} that {N} was born."],
            ["Born in", "Birthplace", "Place of birth"],
            [new("Where was {N} born?", "In which city was {N} born?", "What is the birthplace of {N}?", "Which town was {N} born in?",
                 "What is {N}'s place of birth?", "In what place was {N} born?", "Name the city where {N} was born.",
                 "Where did {N} come into the world?", "{N} was born in which city?", "Which place is {N}'s birthplace?",
                 "What town is {N} a native of?", "In which town did {N}'s life begin?")]),
        new("home-city", world => world.Place(),
            ["{S} lives in {V}.", "These days {N} lives in {V}.", "{S} moved to {V} and still lives there.", "{Sp} home is in {V}.",
             "{S} has settled in {V}.", "{S} now makes {P} home in {V}.", "{S} used to live in {X} but now lives in {V}.",
             "After years in {X}, {N} moved to {V}, where {p} lives today.", "{S} resides in {V}.", "The city {N} calls home is {V}.",
             "{S} rents a small flat in {V}.", "{V} is where {N} lives now.", "{S} left {X} long ago and lives in {V}."],
            ["Lives in", "Home", "Residence", "Current city"],
            [new("Where does {N} live?", "In which city does {N} live?", "What city does {N} live in now?", "Where does {N} live today?",
                 "Where is {N}'s home?", "Which city does {N} call home?", "Where has {N} settled?", "In what town does {N} reside?",
                 "Where is {N} living these days?", "What is {N}'s home city?", "{N} lives in which city?")]),
        new("birth-date", world => world.Date(),
            ["{S} was born on {V}.", "{Sp} date of birth is {V}.", "{N} came into the world on {V}.", "On {V}, {N} was born.",
             "The birth of {N} took place on {V}.", "{N}, born on {V}, is the youngest of three children.",
             "{Sp} birthday is recorded as {V}.", "According to the register, {N} was born on {V}.",
             "{S} was born on {V}, not on {X} as some believe."],
            ["Born on", "Date of birth", "Birth date"],
            [new("When was {N} born?", "What is {N}'s date of birth?", "On what date was {N} born?", "What is the birth date of {N}?",
                 "On which day was {N} born?", "Give the date on which {N} was born.", "What date was {N} born on?",
                 "What is the recorded birthday of {N}?"),
             new(["In what year was {N} born?", "Which year was {N} born in?", "What is {N}'s year of birth?",
                  "In which year did {N} come into the world?", "What year was {N} born?"], value => Year().Match(value).Value)]),
        new("occupation", world => Pick(world, Occupations),
            ["{S} works as {A} {V}.", "By profession, {N} is {A} {V}.", "{N} earns a living as {A} {V}.", "{S} is {A} {V} by trade.",
             "{S} studied to become {AX} {X}, but today {p} works as {A} {V}.", "{S} has worked as {A} {V} for many years.",
             "{Sp} profession is {V}.", "{Sp} occupation is listed as {V}.", "For a living, {N} works as {A} {V}.",
             "{S} is employed as {A} {V}.", "{S} gave up being {AX} {X} and became {A} {V}.", "{N} is {A} {V}."],
            ["Occupation", "Job", "Profession", "Works as"],
            [new("What is {N}'s occupation?", "What does {N} do for a living?", "What is {N}'s profession?", "What is {N}'s job?",
                 "What does {N} work as?", "What job does {N} have?", "What kind of work does {N} do?", "What is {N} by trade?",
                 "What line of work is {N} in?", "What does {N} do for work?", "{N} works as what?")]),
        new("employer", world => world.Organisation(),
            ["{S} works for {V}.", "{S} is employed by {V}.", "{Sp} employer is {V}.", "{S} has a job at {V}.",
             "{S} joined {V} a few years ago.", "{V} employs {N}.", "{S} left {X} to work for {V}.",
             "{S} spent a decade at {X} before taking a job at {V}.", "{S} currently works at {V}.", "{N} is on the payroll of {V}.",
             "{S} draws {P} salary from {V}.", "{S} turned down an offer from {X} and stayed at {V}."],
            ["Employer", "Works for", "Company"],
            [new("Who does {N} work for?", "Which company employs {N}?", "What is the name of {N}'s employer?", "Where does {N} work?",
                 "What company does {N} work for?", "Which organisation is {N}'s employer?", "For which firm does {N} work?",
                 "Who employs {N}?", "At which company does {N} have a job?", "Which company pays {N}'s salary?")]),
        new("instrument", world => Pick(world, Instruments),
            ["{S} plays the {V}.", "In {P} spare time, {N} plays the {V}.", "{S} has played the {V} since childhood.",
             "{S} practises the {V} every evening.", "The {V} is {Sp} instrument.", "{S} took up the {V} as a teenager.",
             "{S} gave up the {X} and now plays the {V}.", "{S} plays the {V} in a local band.",
             "{S} can play a little {X}, but {P} real instrument is the {V}."],
            ["Instrument", "Plays"],
            [new("What instrument does {N} play?", "Which musical instrument does {N} play?", "What does {N} play in {P} spare time?",
                 "Which instrument does {N} practise?", "Name the instrument {N} plays.", "What musical instrument does {N} play?",
                 "Which instrument is {N}'s?", "What does {N} play in the band?")]),
        new("pet-name", world => world.Names.Word(world.Names.PickScript()),
            ["{S} has a {K} named {V}.", "{Sp} {K} is called {V}.", "{N} owns a {K} called {V}.", "{S} keeps a {K}, {V}.",
             "{V} is the name of {Sp} {K}.", "{S} adopted a {K} and named it {V}.", "{S} shares {P} home with a {K} called {V}.",
             "{Sp} {K} goes by the name {V}."],
            ["Pet {K}", "{K}'s name"],
            [new("What is the name of {N}'s {K}?", "What is {N}'s {K} called?", "What did {N} name {P} {K}?",
                 "What name does {N}'s {K} have?", "What is the {K} that {N} owns called?", "What is {N}'s {K}'s name?")],
            world => Pick(world, Pets)),
        new("favourite-colour", world => Pick(world, Colours),
            ["{Sp} favourite colour is {V}.", "The colour {N} likes best is {V}.", "{S} loves the colour {V} more than any other.",
             "{S} prefers {V} to any other colour.", "If asked, {N} says {P} favourite colour is {V}.", "{S} always dresses in {V}.",
             "{S} used to like {X}, but {P} favourite colour is now {V}."],
            ["Favourite colour", "Colour"],
            [new("What is {N}'s favourite colour?", "Which colour does {N} like best?", "What colour does {N} love most?",
                 "What colour does {N} prefer?", "Which colour is {N}'s favourite?", "What is the favourite colour of {N}?")]),
        new("university", world => world.Random.Next(3) switch
            {
                0 => "the University of " + world.Place(),
                1 => world.Place() + " University",
                _ => world.Place() + " Institute of Technology",
            },
            ["{S} studied at {V}.", "{S} graduated from {V}.", "{N} holds a degree from {V}.", "{S} earned {P} degree at {V}.",
             "{S} was a student at {V}.", "{S} applied to {X} but studied at {V}.", "After school, {N} went to {V}."],
            ["Studied at", "University", "Education"],
            [new("Where did {N} study?", "Which university did {N} attend?", "From which university did {N} graduate?",
                 "Where did {N} earn {P} degree?", "Where did {N} go to university?", "At which university did {N} study?")]),
        new("language", world => Pick(world, Languages),
            ["{S} speaks {V} at home.", "{Sp} first language is {V}.", "{S} grew up speaking {V}.", "{S} is fluent in {V}.",
             "{S} speaks some {X}, but {P} mother tongue is {V}.", "At home, {N} speaks {V}."],
            ["Language", "Mother tongue"],
            [new("What language does {N} speak at home?", "What is {N}'s first language?", "Which language did {N} grow up speaking?",
                 "What is {N}'s mother tongue?", "Which language does {N} speak at home?")]),
        new("hobby", world => Pick(world, Hobbies),
            ["{S} enjoys {V} at weekends.", "{Sp} hobby is {V}.", "In {P} free time, {N} likes {V}.",
             "{S} spends most Sundays on {V}.", "{Sp} great passion is {V}.", "{S} tried {X} once, but {P} real hobby is {V}."],
            ["Hobby", "Pastime"],
            [new("What is {N}'s hobby?", "What does {N} enjoy at weekends?", "What does {N} like to do in {P} free time?",
                 "What pastime does {N} enjoy?", "What is {N}'s great passion?")]),
        new("favourite-dish", world => Pick(world, Dishes),
            ["{Sp} favourite dish is {V}.", "{S} could eat {V} every day.", "{S} always orders {V}.", "Nothing pleases {N} more than {V}.",
             "{S} does not care for {X}, but {p} loves {V}."],
            ["Favourite dish", "Favourite food"],
            [new("What is {N}'s favourite dish?", "What food does {N} love?", "What does {N} always order?",
                 "What dish does {N} like best?", "Which food could {N} eat every day?")]),
        new("address", world => world.Address(),
            ["{Sp} address is {V}.", "{S} lives at {V}.", "Letters to {N} go to {V}.", "{S} can be found at {V}.",
             "{S} moved from {X} to {V}."],
            ["Address", "Street address"],
            [new("What is {N}'s address?", "At what address does {N} live?", "Where should letters to {N} be sent?",
                 "What is the street address of {N}?")]),
        new("age", world => world.Random.Next(18, 96).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["{S} is {V} years old.", "{N} is {V}.", "{S} turned {V} this year.", "At {V}, {N} is still very active.",
             "{Sp} age is {V}."],
            ["Age"],
            [new("How old is {N}?", "What is {N}'s age?", "What age is {N}?", "How many years old is {N}?")]),
        new("relative", world => world.OtherPerson(),
            ["{Sp} {K} is {V}.", "{V} is {Sp} {K}.", "{S} and {P} {K}, {V}, meet every week.", "{S} often visits {P} {K}, {V}.",
             "{S} counts {V} as {P} {K}.", "{S} introduced {P} {K}, {V}, to everyone.", "The {K} of {N} is {V}."],
            ["{K}"],
            [new("Who is {N}'s {K}?", "Who is the {K} of {N}?", "What is the name of {N}'s {K}?", "Which person is {N}'s {K}?",
                 "Whom does {N} count as {P} {K}?")],
            world => Pick(world, Relations)),
        new("invented-relation", world => world.OtherPerson(),
            ["{Sp} {K} is {V}.", "{V} serves as {Sp} {K}.", "{S} has {V} as {P} {K}.", "By custom, {V} is the {K} of {N}.",
             "The {K} of {N} is {V}.", "Everyone knows that {V} is {Sp} {K}."],
            ["{K}"],
            [new("Who is {N}'s {K}?", "Who is the {K} of {N}?", "Who serves as {N}'s {K}?", "Name the {K} of {N}.",
                 "Which person is the {K} of {N}?")],
            world => Pick(world, world.RelationWords)),
        new("invented-attribute", world => world.InventedValue(),
            ["{Sp} {K} is {V}.", "The {K} of {N} is {V}.", "For {N}, the {K} is {V}.", "{S} lists {P} {K} as {V}.",
             "{S} gives {P} {K} as {V}."],
            ["{K}"],
            [new("What is {N}'s {K}?", "What is the {K} of {N}?", "What does {N} give as {P} {K}?", "Which {K} does {N} have?")],
            world => Pick(world, world.AttributeWords)),
        new("weekday-trip", world => world.Place(),
            ["On {K}, {S} travelled to {V}.", "{S} visited {V} on {K}.", "On {K}, {N} gave a talk in {V}.",
             "{S} spent last {K} in {V}.", "{S} was in {X} on Monday morning and in {V} on {K}."],
            ["Trip on {K}"],
            [new("Where did {N} travel on {K}?", "Which city did {N} visit on {K}?", "Where was {N} on {K}?",
                 "Where did {N} spend {K}?")],
            world => Pick(world, Weekdays[1..])),
    ];

    /// <summary>Sentences that state nothing askable but put same-type distractors (places, weekdays, dates, other
    /// people) near the facts. Slots as statements, plus {Q} a place, {D} a weekday, {O} another person, {T} a date.</summary>
    public static readonly string[] Fillers =
    [
        "{S} is well known in the neighbourhood.", "Many people have heard of {N}.", "{S} rarely speaks to the press.",
        "{S} was mentioned in a newspaper from {Q} last {D}.", "Once, {N} missed a train to {Q}.",
        "On {D}s, {N} has lunch with {O}.", "{S} met {O} at a conference in {Q}.", "{S} has never been to {Q}.",
        "A letter dated {T} mentions {N}.", "{S} likes to walk along the river on {D} evenings.",
        "{S} once shared a taxi with {O}.", "Nobody in {Q} has heard of {N}.",
    ];
}
