using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>One GCIDE dictionary entry in its dictd form (markup included).</summary>
public sealed record GcideEntry(string Headword, string Raw);

/// <summary>
/// Reads GCIDE as Debian's dict-gcide ships it: `gcide.dict.dz` (dictzip, readable as gzip) holds the entries and
/// `gcide.index` lists `headword TAB offset TAB length` with offset and length in dictd's base-64 digits. Turns the
/// dictd markup (pronunciations, {cross references}, [accent codes], [source tags]) into plain text.
/// </summary>
public static partial class GcideReader
{
    const string Base64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Every entry once (several headwords may point at one entry), skipping the `00-database-*` headers.</summary>
    public static IEnumerable<GcideEntry> ReadEntries(string dictPath, string indexPath)
    {
        byte[] text = ReadDictionary(dictPath);
        var seenOffsets = new HashSet<long>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(indexPath))
        {
            lineNumber++;
            string[] fields = line.Split('\t');
            if (fields.Length != 3) throw new InvalidDataException($"{indexPath}:{lineNumber}: expected 3 tab-separated fields");
            if (fields[0].StartsWith("00-database", StringComparison.Ordinal) || fields[0].StartsWith("00database", StringComparison.Ordinal))
                continue;
            long offset = DecodeNumber(fields[1], indexPath, lineNumber);
            long length = DecodeNumber(fields[2], indexPath, lineNumber);
            if (offset + length > text.Length)
                throw new InvalidDataException($"{indexPath}:{lineNumber}: entry '{fields[0]}' lies past the end of {dictPath}");
            if (!seenOffsets.Add(offset)) continue;
            yield return new GcideEntry(fields[0], Encoding.UTF8.GetString(text, (int)offset, (int)length));
        }
    }

    static byte[] ReadDictionary(string dictPath)
    {
        using var file = File.OpenRead(dictPath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>dictd writes numbers in base 64, most significant digit first.</summary>
    public static long DecodeNumber(string digits, string where, int lineNumber)
    {
        long value = 0;
        foreach (char c in digits)
        {
            int digit = Base64Digits.IndexOf(c);
            if (digit < 0) throw new InvalidDataException($"{where}:{lineNumber}: '{digits}' is not a dictd base-64 number");
            value = value * 64 + digit;
        }
        return value;
    }

    /// <summary>The entry as plain text: paragraphs joined into single lines, markup removed.</summary>
    public static string PlainText(GcideEntry entry)
    {
        string withoutPronunciation = Pronunciation().Replace(entry.Raw, "", 1);
        var paragraphs = new List<string>();
        var current = new List<string>();
        foreach (string line in withoutPronunciation.Split('\n'))
        {
            if (SourceTag().IsMatch(line)) continue;
            if (line.Trim().Length == 0)
            {
                if (current.Count > 0) paragraphs.Add(CleanMarkup(string.Join(' ', current)));
                current.Clear();
            }
            else current.Add(line.Trim());
        }
        if (current.Count > 0) paragraphs.Add(CleanMarkup(string.Join(' ', current)));
        return string.Join("\n", paragraphs);
    }

    /// <summary>
    /// The numbered senses of an entry (`   1. text`, continued on more deeply indented lines), without subject labels
    /// such as `(Zool.)`. Obsolete senses are left out; unnumbered entries give none (their layout is too irregular).
    /// </summary>
    public static IEnumerable<WordSense> Senses(GcideEntry entry)
    {
        string[] lines = entry.Raw.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var start = NumberedSense().Match(lines[i]);
            if (!start.Success) continue;
            var parts = new List<string> { start.Groups[1].Value };
            for (int j = i + 1; j < lines.Length && lines[j].StartsWith("      ") && !SourceTag().IsMatch(lines[j]); j++)
                parts.Add(lines[j].Trim());
            string definition = SubjectLabel().Replace(CleanMarkup(string.Join(' ', parts)), "").Trim();
            if (definition.Length == 0 || definition.Contains("[Obs.]") || definition.Contains("--")) continue;
            yield return new WordSense(entry.Headword, definition.TrimEnd('.'), [], "gcide");
        }
    }

    /// <summary>Removes cross-reference braces and spells out accent codes: `[ae]` → ae, `[a^]`, `[=e]`, `[.a]` → the letter.</summary>
    public static string CleanMarkup(string text)
    {
        text = text.Replace("{", "").Replace("}", "")
            .Replace("[ae]", "ae").Replace("[AE]", "AE").Replace("[oe]", "oe").Replace("[OE]", "OE");
        text = AccentCode().Replace(text, m => m.Groups[1].Value);
        text = InlineSourceTag().Replace(text, "");
        return Whitespace().Replace(text, " ").Trim();
    }

    [GeneratedRegex(@"\s*\\[^\\\n]*\\(\s*\([^)\n]*\))?")]
    private static partial Regex Pronunciation();

    [GeneratedRegex(@"^\s*\[[^\]]*\]\s*$")]
    private static partial Regex SourceTag();

    [GeneratedRegex(@"^ {3}\d+\. (.*)$")]
    private static partial Regex NumberedSense();

    [GeneratedRegex(@"^\([^)]*\)\s*")]
    private static partial Regex SubjectLabel();

    [GeneratedRegex(@"\[[\^=.*~""'`]?([a-zA-Z])(?:[\^=~""'`]|um|mac|ac|gr|cr|ced|til|sm)?\]")]
    private static partial Regex AccentCode();

    /// <summary>Source tags left inside a paragraph: [1913 Webster], [WordNet 1.5], [PJC] and the like.</summary>
    [GeneratedRegex(@"\s*\[[^\]]*(Webster|WordNet|PJC)[^\]]*\]")]
    private static partial Regex InlineSourceTag();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
