using System.Globalization;

namespace PicSharp.Data;

/// <summary>
/// Invented proper names (people, places, organisations, pets) built from syllables. The syllables a name may start
/// with are partitioned between train, dev and test, and every generated word starts with a capitalised syllable of
/// its own split, so no name of one split can occur in another split's text.
/// </summary>
public sealed class NameInventory
{
    static readonly string[] Onsets = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
        "br", "dr", "gr", "kr", "tr", "st", "sh", "th", "ch", "j", "w"];
    static readonly string[] Vowels = ["a", "e", "i", "o", "u"];
    static readonly string[] Codas = ["", "", "n", "r", "l", "s", "th", "m", "x", "nd", "rk", "v", "sh"];
    static readonly string[] CityEndings = ["", "port", "ton", "ford", "burg", "mere", "wick", "dale", "field", "haven"];

    /// <summary>Every onset+vowel syllable, sorted by a stable hash: every 20th goes to test, the next to dev.</summary>
    static readonly Dictionary<DataSplit, string[]> FirstSyllables = Onsets
        .SelectMany(onset => Vowels.Select(vowel => onset + vowel))
        .OrderBy(s => DataSplits.StableHash("syllable:" + s))
        .Select((syllable, i) => (syllable, split: (i % 20) switch { 0 => DataSplit.Test, 1 => DataSplit.Validation, _ => DataSplit.Train }))
        .GroupBy(p => p.split)
        .ToDictionary(g => g.Key, g => g.Select(p => p.syllable).ToArray());

    readonly string[] first;
    readonly Random random;

    public NameInventory(DataSplit split, Random random)
    {
        first = FirstSyllables[split];
        this.random = random;
    }

    /// <summary>The syllables a word of this split starts with (capitalised in the text).</summary>
    public static IReadOnlyList<string> StartingSyllables(DataSplit split) => FirstSyllables[split];

    /// <summary>A capitalised invented word of 2–3 syllables, e.g. "Kavorin".</summary>
    public string Word()
    {
        string word = first[random.Next(first.Length)];
        int middle = random.Next(2);
        for (int i = 0; i < middle; i++) word += Pick(Onsets) + Pick(Vowels);
        word += Pick(Onsets) + Pick(Vowels) + Pick(Codas);
        return CultureInfo.InvariantCulture.TextInfo.ToTitleCase(word);
    }

    public string City() => Word() + Pick(CityEndings);

    string Pick(string[] items) => items[random.Next(items.Length)];
}
