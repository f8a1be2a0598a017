using System.Globalization;

namespace PicSharp.Data;

/// <summary>The writing systems invented names are drawn in.</summary>
public enum Script { Latin, LatinDiacritics, Greek, Cyrillic, Han, Hangul }

/// <summary>
/// Invented names in several writing systems, so a reader must copy multi-byte UTF-8 text exactly (ø, ł, ř, Greek,
/// Cyrillic, Han, Hangul). As in <see cref="NameInventory"/> (which serves the plain Latin names), the syllables a
/// name may start with are partitioned between train, dev and test by a stable hash, so no name of one split can
/// occur in another split's text. Every character is precomposed (NFC) and in the Basic Multilingual Plane, so a
/// C# string index is also the code-point offset SQuAD's answer_start means.
/// </summary>
public sealed class ScriptNames
{
    /// <summary>
    /// Letters of one script. Alphabetic scripts build words from onset+vowel syllables and a coda; block scripts (Han,
    /// Hangul) start with a family-name character (Onsets) followed by given-name characters (Codas), and the two
    /// sets are disjoint, so a name of one split is never a substring of another split's name.
    /// </summary>
    sealed record Syllabary(string[] Onsets, string[] Vowels, string[] Codas, string[] PlaceEndings, bool Spaced)
    {
        /// <summary>The syllables a word may start with, split by a stable hash: every 20th to test, the next to dev.
        /// Latin-with-diacritics words start with a syllable holding a non-ASCII letter, so none equals a plain Latin
        /// name of another split.</summary>
        public Dictionary<DataSplit, string[]> FirstSyllables(Script script) => Onsets
            .SelectMany(onset => Vowels.Select(vowel => onset + vowel))
            .Where(s => script != Script.LatinDiacritics || s.Any(c => c > 127))
            .Distinct()
            .OrderBy(s => DataSplits.StableHash($"syllable:{script}:{s}"))
            .Select((syllable, i) => (syllable, split: (i % 20) switch { 0 => DataSplit.Test, 1 => DataSplit.Validation, _ => DataSplit.Train }))
            .GroupBy(p => p.split)
            .ToDictionary(g => g.Key, g => g.Select(p => p.syllable).ToArray());
    }

    static readonly Dictionary<Script, Syllabary> Syllabaries = new()
    {
        // Plain letters are listed several times so that, past the first syllable (which always has a diacritic),
        // names carry one or two marked letters as real names do, not one per letter.
        [Script.LatinDiacritics] = new(
            ["b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "h", "j", "b", "d", "g", "k", "l", "m", "n", "p",
             "r", "s", "t", "v", "š", "ž", "č", "ł", "ń", "ř", "ś"],
            ["a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "á", "é", "í", "ó", "ú", "ä", "ö",
             "ü", "å", "ø", "ã", "ê", "ô", "ă", "ę"],
            ["", "", "", "n", "r", "l", "s", "k", "n", "r", "l", "t", "v", "ß", "ş"],
            ["", "", "vík", "stad", "gård", "ów", "ice", "ár", "ø", "by", "ąg"], Spaced: true),
        [Script.Greek] = new(
            ["β", "γ", "δ", "θ", "κ", "λ", "μ", "ν", "π", "ρ", "σ", "τ", "φ", "χ", "ξ", "ζ"],
            ["α", "ε", "η", "ι", "ο", "υ", "ω", "ά", "έ", "ί", "ό", "ή"],
            ["", "ς", "ν", "ρ", "ς", "ς"],
            ["", "", "πολη", "ουπολη", "ία", "ιά"], Spaced: true),
        [Script.Cyrillic] = new(
            ["б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ц", "ч", "ш"],
            ["а", "е", "и", "о", "у", "ы", "я", "ю", "ё", "э"],
            ["", "", "н", "в", "р", "к", "й", "ль", "ш"],
            ["", "", "град", "ово", "ск", "ань", "ец"], Spaced: true),
        [Script.Han] = new(
            ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
             "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "袁", "潘", "于", "蒋", "蔡"],
            [""],
            ["明", "华", "立", "新", "文", "志", "国", "建", "海", "平", "云", "春", "雪", "梅", "兰", "秀", "英", "玉", "晓", "静"],
            ["", "市", "州", "城", "山", "县"], Spaced: false),
        [Script.Hangul] = new(
            ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "류", "홍"],
            [""],
            ["민", "준", "연", "지", "현", "수", "영", "진", "우", "하", "은", "경", "태", "성", "혜", "미", "동", "재", "희"],
            ["", "시", "군", "리"], Spaced: false),
    };

    static readonly Dictionary<(Script, DataSplit), string[]> Firsts = Syllabaries
        .SelectMany(s => s.Value.FirstSyllables(s.Key).Select(split => (Key: (s.Key, split.Key), split.Value)))
        .ToDictionary(p => p.Key, p => p.Value);

    /// <summary>How often each script is drawn: Latin most, the others often enough to be learnt. Non-Latin letters
    /// cost two or three byte tokens each with an English byte-level BPE, so they are drawn sparingly.</summary>
    static readonly (Script Script, double Weight)[] Mix =
    [
        (Script.Latin, 0.55), (Script.LatinDiacritics, 0.25), (Script.Greek, 0.05), (Script.Cyrillic, 0.05),
        (Script.Han, 0.05), (Script.Hangul, 0.05),
    ];

    readonly DataSplit split;
    readonly Random random;
    readonly NameInventory latin;

    public ScriptNames(DataSplit split, Random random)
    {
        this.split = split;
        this.random = random;
        latin = new NameInventory(split, random);
    }

    /// <summary>The syllables (or characters) a word of this script and split starts with.</summary>
    public static IReadOnlyList<string> StartingSyllables(Script script, DataSplit split) =>
        script == Script.Latin ? NameInventory.StartingSyllables(split) : Firsts[(script, split)];

    /// <summary>Whether the script writes a space between given and family name (block scripts do not).</summary>
    public static bool IsSpaced(Script script) => script == Script.Latin || Syllabaries[script].Spaced;

    public Script PickScript()
    {
        double u = random.NextDouble();
        foreach (var (script, weight) in Mix)
            if ((u -= weight) < 0) return script;
        return Script.Latin;
    }

    /// <summary>One capitalised invented word (a given or family name) in the script.</summary>
    public string Word(Script script)
    {
        if (script == Script.Latin) return latin.Word();
        var s = Syllabaries[script];
        string word = Pick(Firsts[(script, split)]);
        if (!s.Spaced)
        {
            // A block-script word is one or two given-name characters after the first: 김민준, 王立新.
            int more = 1 + random.Next(2);
            for (int i = 0; i < more; i++) word += Pick(s.Codas);
            return word;
        }
        int middle = random.Next(2);
        for (int i = 0; i < middle; i++) word += Pick(s.Onsets) + Pick(s.Vowels);
        word += Pick(s.Onsets) + Pick(s.Vowels) + Pick(s.Codas);
        if (script == Script.Greek) word = word.Replace("ς", "σ")[..^1] + word[^1]; // final sigma only at the end
        return Capitalise(word);
    }

    /// <summary>A person's given and family name in one script.</summary>
    public (string Given, string Family) Person(Script script)
    {
        if (script is Script.Han or Script.Hangul)
        {
            // Family name first and one character long, as these names are written.
            var s = Syllabaries[script];
            string family = Pick(Firsts[(script, split)]);
            string given = Pick(s.Codas) + (random.Next(3) > 0 ? Pick(s.Codas) : "");
            return (given, family);
        }
        return (Word(script), Word(script));
    }

    /// <summary>A person's name as written: "Given Family", or family-first without a space in block scripts.</summary>
    public static string FullName(Script script, string given, string family) =>
        IsSpaced(script) ? given + " " + family : family + given;

    public string Place(Script script)
    {
        if (script == Script.Latin) return latin.City();
        string word = Word(script);
        string ending = Pick(Syllabaries[script].PlaceEndings);
        return script == Script.Greek && ending.Length > 0 && word.EndsWith('ς') ? word[..^1] + ending : word + ending;
    }

    static string Capitalise(string word) => CultureInfo.InvariantCulture.TextInfo.ToUpper(word[0]) + word[1..];

    string Pick(string[] items) => items[random.Next(items.Length)];
}
