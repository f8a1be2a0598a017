using System.Globalization;
using static PicSharp.Data.FactsGenerator;

namespace PicSharp.Data;

/// <summary>A way to ask for a fact: question phrasings and which part of the value is the answer.</summary>
sealed record FactAsk(string[] Templates, Func<string, string> Answer)
{
    public FactAsk(params string[] templates) : this(templates, value => value) { }
}

/// <summary>
/// One kind of fact about an entity: how to draw its value, the sentences that state it (slots as in
/// FactsGenerator.Slot), and the questions that ask it. Both people and organisations have many attributes, so
/// several entities in a passage answer the same question type and only the named entity's value is right.
/// </summary>
sealed record FactKind(
    string Key,
    EntityKind Kind,
    Func<Random, NameInventory, string> Value,
    string[] Statements,
    FactAsk[] Asks,
    Func<Random, string>? Detail = null)
{
    static string Date(Random random) =>
        new DateTime(random.Next(1930, 2006), random.Next(1, 13), random.Next(1, 29)).ToString("MMMM d, yyyy", CultureInfo.InvariantCulture);

    public static readonly FactKind[] All =
    [
        new("birth-place", EntityKind.Person, (_, names) => names.City(),
            ["{S} was born in {V}.", "{S} was born and raised in {V}.", "The birthplace of {N} is {V}.", "{Sp} birthplace is {V}."],
            [new("Where was {N} born?", "In which city was {N} born?", "What is the birthplace of {N}?", "In what town was {N} born?")]),
        new("birth-date", EntityKind.Person, (random, _) => Date(random),
            ["{S} was born on {V}.", "{Sp} date of birth is {V}.", "{N} came into the world on {V}."],
            [new("When was {N} born?", "What is {N}'s date of birth?", "On what date was {N} born?"),
             new(["In what year was {N} born?", "Which year was {N} born in?", "What is {N}'s year of birth?"], value => value[^4..])]),
        new("home-city", EntityKind.Person, (_, names) => names.City(),
            ["{S} lives in {V}.", "These days {N} lives in {V}.", "{S} moved to {V} and still lives there.", "{Sp} home is in {V}."],
            [new("Where does {N} live?", "In which city does {N} live?", "What city does {N} live in now?")]),
        new("employer", EntityKind.Person, (random, names) => names.Word() + " " + Pick(random, Vocabulary.OrganisationSuffixes),
            ["{S} works for {V}.", "{S} is employed by {V}.", "{Sp} employer is {V}.", "{S} has a job at {V}."],
            [new("Who does {N} work for?", "Which company employs {N}?", "What is the name of {N}'s employer?", "Where does {N} work?")]),
        new("occupation", EntityKind.Person, (random, _) => Pick(random, Vocabulary.Occupations),
            ["{S} works as {A} {V}.", "By profession, {N} is {A} {V}.", "{N} earns a living as {A} {V}."],
            [new("What is {N}'s occupation?", "What does {N} do for a living?", "What is {N}'s profession?")]),
        new("favourite-colour", EntityKind.Person, (random, _) => Pick(random, Vocabulary.Colours),
            ["{Sp} favourite colour is {V}.", "The colour {N} likes best is {V}.", "{S} loves the colour {V} more than any other."],
            [new("What is {N}'s favourite colour?", "Which colour does {N} like best?", "What colour does {N} love most?")]),
        new("instrument", EntityKind.Person, (random, _) => Pick(random, Vocabulary.Instruments),
            ["{S} plays the {V}.", "In {P} spare time, {N} plays the {V}.", "{S} has played the {V} since childhood."],
            [new("What instrument does {N} play?", "Which musical instrument does {N} play?", "What does {N} play in {P} spare time?")]),
        new("pet-name", EntityKind.Person, (_, names) => names.Word(),
            ["{S} has a {K} named {V}.", "{Sp} {K} is called {V}.", "{N} owns a {K} called {V}."],
            [new("What is the name of {N}'s {K}?", "What is {N}'s {K} called?", "What did {N} name {P} {K}?")],
            random => Pick(random, Vocabulary.Pets)),
        new("university", EntityKind.Person, (_, names) => "the University of " + names.City(),
            ["{S} studied at {V}.", "{S} graduated from {V}.", "{N} holds a degree from {V}."],
            [new("Where did {N} study?", "Which university did {N} attend?", "From which university did {N} graduate?")]),
        new("founding-year", EntityKind.Organisation, (random, _) => random.Next(1850, 2016).ToString(CultureInfo.InvariantCulture),
            ["{S} was founded in {V}.", "{N} was established in {V}.", "{S} has existed since {V}.", "{N} opened its doors in {V}."],
            [new("When was {N} founded?", "In what year was {N} established?", "What year was {N} founded in?")]),
        new("headquarters", EntityKind.Organisation, (_, names) => names.City(),
            ["{S} is headquartered in {V}.", "{Sp} headquarters are in {V}.", "{N} has its main office in {V}."],
            [new("Where is {N} headquartered?", "In which city are {N}'s headquarters?", "Where is the main office of {N}?")]),
        new("founder", EntityKind.Organisation, (_, names) => names.Word() + " " + names.Word(),
            ["{S} was founded by {V}.", "{N} was started by {V}.", "{V} founded {N}."],
            [new("Who founded {N}?", "Who started {N}?", "Who is the founder of {N}?")]),
        new("industry", EntityKind.Organisation, (random, _) => Pick(random, Vocabulary.Industries),
            ["{S} works in the {V} industry.", "{N} does business in {V}.", "{Sp} trade is {V}."],
            [new("What industry is {N} in?", "In which industry does {N} operate?", "What is {N}'s line of business?")]),
        new("chief-executive", EntityKind.Organisation, (_, names) => names.Word() + " " + names.Word(),
            ["{S} is led by chief executive {V}.", "The chief executive of {N} is {V}.", "{V} runs {N} as its chief executive."],
            [new("Who is the chief executive of {N}?", "Who leads {N}?", "Who runs {N}?")]),
        new("employees", EntityKind.Organisation, (random, _) => random.Next(12, 90000).ToString(CultureInfo.InvariantCulture),
            ["{S} employs {V} people.", "{N} has a staff of {V}.", "About {V} people work at {N}."],
            [new("How many people does {N} employ?", "How many employees does {N} have?", "How large is the staff of {N}?")]),
        new("product", EntityKind.Organisation, (random, _) => Pick(random, Vocabulary.Products),
            ["{S} is best known for its {V}.", "{N} makes {V}.", "The main product of {N} is {V}."],
            [new("What is {N} best known for?", "What does {N} make?", "What is the main product of {N}?")]),
    ];
}

/// <summary>Closed word lists for attribute values and sentence variety.</summary>
static class Vocabulary
{
    public static readonly string[] OrganisationSuffixes = ["Industries", "Labs", "Works", "Group", "Systems", "Holdings",
        "Foundry", "Partners", "Trading Company", "Institute", "Mills", "Logistics", "Studios", "Shipyards", "Bank"];

    public static readonly string[] Occupations = ["architect", "baker", "carpenter", "chemist", "dentist", "economist",
        "electrician", "engineer", "farmer", "firefighter", "florist", "geologist", "historian", "illustrator", "journalist",
        "judge", "librarian", "locksmith", "mechanic", "midwife", "nurse", "optician", "painter", "pharmacist", "photographer",
        "physicist", "pilot", "plumber", "potter", "surgeon", "tailor", "teacher", "translator", "veterinarian", "watchmaker",
        "beekeeper", "cartographer", "astronomer", "accountant", "sculptor"];

    public static readonly string[] Colours = ["amber", "aquamarine", "beige", "burgundy", "cerulean", "charcoal", "coral",
        "crimson", "emerald", "gold", "indigo", "ivory", "lavender", "lilac", "magenta", "maroon", "mustard", "navy blue",
        "ochre", "olive", "orange", "peach", "plum", "saffron", "scarlet", "silver", "teal", "turquoise", "vermilion", "violet"];

    public static readonly string[] Instruments = ["accordion", "bagpipes", "banjo", "bassoon", "cello", "clarinet",
        "double bass", "drums", "flute", "French horn", "guitar", "harmonica", "harp", "harpsichord", "mandolin", "oboe",
        "organ", "piano", "saxophone", "sitar", "trombone", "trumpet", "tuba", "ukulele", "viola", "violin", "xylophone"];

    public static readonly string[] Pets = ["cat", "dog", "parrot", "tortoise", "rabbit", "ferret", "goldfish", "horse",
        "hamster", "canary", "goat", "iguana"];

    public static readonly string[] Industries = ["shipbuilding", "software", "textiles", "publishing", "mining", "aviation",
        "insurance", "pharmaceuticals", "agriculture", "construction", "brewing", "telecommunications", "furniture", "tourism",
        "glassmaking", "steel", "fishing", "printing", "robotics", "shipping"];

    public static readonly string[] Products = ["folding bicycles", "wooden toys", "solar panels", "kitchen knives",
        "hiking boots", "pocket watches", "garden tools", "sailing boats", "board games", "wool blankets", "ceramic tiles",
        "electric kettles", "paper lanterns", "reading glasses", "canned soups", "violin strings", "desk lamps",
        "weather radios", "fountain pens", "rope ladders"];

    /// <summary>Sentences that state nothing askable, so passages are not pure attribute lists.</summary>
    public static readonly string[] Fillers = ["{S} is well known in the region.", "Many people have heard of {N}.",
        "{S} rarely speaks to the press.", "Not much else is known about {N}.", "{S} was mentioned in a local newspaper last year."];
}
