using System.Globalization;

namespace PicSharp.Data;

/// <summary>
/// What one generated reading passage draws its values from: the split's multi-script names, one date format for the
/// whole passage, and the passage's own invented relation and attribute words (drawn from the split's names, so a
/// dev or test word never occurs in training). Several people of a passage share these words, so a question's
/// invented word must be matched against the passage, not guessed from the template.
/// </summary>
sealed class PassageWorld
{
    static readonly string[] DateFormats = ["MMMM d, yyyy", "d MMMM yyyy", "yyyy-MM-dd", "MMMM d yyyy", "d MMM yyyy"];
    static readonly string[] OrganisationSuffixes = ["Industries", "Labs", "Works", "Group", "Systems", "Holdings",
        "Foundry", "Partners", "Trading Company", "Institute", "Mills", "Logistics", "Studios", "Shipyards", "Bank",
        "Cooperative", "& Sons", "Brothers", "Press", "Clinic", "Bakery", "Motors", "Textiles", "Software"];
    static readonly string[] StreetKinds = ["Street", "Road", "Lane", "Avenue", "Square", "Way", "Court", "Row"];

    public Random Random { get; }
    public ScriptNames Names { get; }
    public string DateFormat { get; }
    public IReadOnlyList<string> RelationWords { get; }
    public IReadOnlyList<string> AttributeWords { get; }

    public PassageWorld(Random random, ScriptNames names)
    {
        Random = random;
        Names = names;
        DateFormat = DateFormats[random.Next(DateFormats.Length)];
        RelationWords = InventedWords(2 + random.Next(2));
        AttributeWords = InventedWords(2 + random.Next(2));
    }

    List<string> InventedWords(int count)
    {
        var words = new HashSet<string>();
        while (words.Count < count) words.Add(Names.Word(Script.Latin).ToLowerInvariant());
        return [.. words];
    }

    public string Place() => Names.Place(Names.PickScript());

    /// <summary>Full name of someone who is not one of the passage's described people (a relative, a friend).</summary>
    public string OtherPerson()
    {
        var script = Names.PickScript();
        var (given, family) = Names.Person(script);
        return ScriptNames.FullName(script, given, family);
    }

    public string Organisation()
    {
        var script = Random.Next(3) == 0 ? Script.LatinDiacritics : Script.Latin;
        return Names.Word(script) + " " + OrganisationSuffixes[Random.Next(OrganisationSuffixes.Length)];
    }

    public string Date() => new DateTime(Random.Next(1930, 2008), Random.Next(1, 13), Random.Next(1, 29))
        .ToString(DateFormat, CultureInfo.InvariantCulture);

    public string Address() => $"{Random.Next(1, 240)} {Names.Word(Random.Next(3) == 0 ? Script.LatinDiacritics : Script.Latin)} {StreetKinds[Random.Next(StreetKinds.Length)]}";

    /// <summary>A value for an invented attribute: an invented word, a number with a unit, or a place.</summary>
    public string InventedValue() => Random.Next(3) switch
    {
        0 => Names.Word(Names.PickScript()),
        1 => Random.Next(2, 900).ToString(CultureInfo.InvariantCulture) + " " + Names.Word(Script.Latin).ToLowerInvariant() + "s",
        _ => Place(),
    };
}
