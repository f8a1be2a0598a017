using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>
/// Reads WordNet 3.0 `data.POS` files (wndb(5WN) format): `offset lex_filenum ss_type w_cnt word lex_id ... | gloss`,
/// where the gloss is `definition; "example"; "example"`. Lines starting with spaces are the licence header.
/// </summary>
public static partial class WordNetReader
{
    public static readonly string[] DataFiles = ["data.noun", "data.verb", "data.adj", "data.adv"];

    /// <summary>Every (word, sense) of the data files in a WordNet dictionary folder.</summary>
    public static IEnumerable<WordSense> ReadFolder(string directory) =>
        DataFiles.SelectMany(file => ReadDataFile(Path.Combine(directory, file)));

    public static IEnumerable<WordSense> ReadDataFile(string path)
    {
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.StartsWith(' ') || line.Length == 0) continue;
            foreach (var sense in ParseSynset(line, $"{path}:{lineNumber}")) yield return sense;
        }
    }

    /// <summary>The senses of one synset line: one per word in the synset, all sharing the gloss.</summary>
    public static IEnumerable<WordSense> ParseSynset(string line, string where)
    {
        int bar = line.IndexOf(" | ", StringComparison.Ordinal);
        if (bar < 0) throw new InvalidDataException($"{where}: WordNet synset line without a ' | ' gloss");
        string[] fields = line[..bar].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 6) throw new InvalidDataException($"{where}: WordNet synset line has too few fields");
        int wordCount = Convert.ToInt32(fields[3], 16);
        var (definition, examples) = ParseGloss(line[(bar + 3)..]);
        if (definition.Length == 0) yield break;
        for (int i = 0; i < wordCount && 4 + 2 * i < fields.Length; i++)
        {
            string word = AdjectiveMarker().Replace(fields[4 + 2 * i], "").Replace('_', ' ');
            yield return new WordSense(word, definition, examples, "wordnet");
        }
    }

    /// <summary>Splits `definition; "example one"; "example two"` into the definition and the examples.</summary>
    public static (string Definition, IReadOnlyList<string> Examples) ParseGloss(string gloss)
    {
        var definitionParts = new List<string>();
        var examples = new List<string>();
        foreach (string part in gloss.Trim().Split("; "))
        {
            string piece = part.Trim();
            if (piece.StartsWith('"')) examples.Add(piece.Trim('"', ' '));
            else if (piece.Length > 0) definitionParts.Add(piece);
        }
        return (string.Join("; ", definitionParts), examples);
    }

    /// <summary>Adjective position markers such as `(a)`, `(p)`, `(ip)` after a word.</summary>
    [GeneratedRegex(@"\((a|p|ip)\)$")]
    private static partial Regex AdjectiveMarker();
}
