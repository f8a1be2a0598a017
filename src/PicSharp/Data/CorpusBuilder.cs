using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>One whole document of the corpus; it belongs to exactly one split.</summary>
public sealed record CorpusDocument(string Name, string Source, DataSplit Split, string Text);

/// <summary>
/// Turns the unpacked packages into plain-text documents. Addresses, chapters and fortune files are split by a hash of
/// their name. Dictionary text is split by word, the same way as the lexicon, so no held-out word's definition is ever
/// in the training text; each dictionary document is one letter's words of one split (e.g. `gcide-a-train`).
/// </summary>
public static partial class CorpusBuilder
{
    /// <summary>State of the Union addresses: `data/1790_george_washington_n.txt` → `sotu-1790-george-washington-n`.</summary>
    public static IEnumerable<CorpusDocument> SotuAddresses(string packageRoot) =>
        TextFiles(Path.Combine(packageRoot, "package", "data"))
            .Where(file => char.IsDigit(Path.GetFileName(file)[0]))
            .Select(file => Named("sotu-" + Path.GetFileNameWithoutExtension(file).Replace('_', '-'), "sotu", file));

    /// <summary>Moby-Dick's chapters plus etymology, extracts and epilogue (not the whole-book or contents files).</summary>
    public static IEnumerable<CorpusDocument> MobyDickChapters(string packageRoot) =>
        TextFiles(Path.Combine(packageRoot, "package", "data"))
            .Where(file => Path.GetFileNameWithoutExtension(file) is not ("data" or "contents"))
            .Select(file => Named("moby-dick-" + ChapterName(Path.GetFileNameWithoutExtension(file)), "moby-dick", file));

    static string ChapterName(string stem) =>
        stem.StartsWith("chapter_", StringComparison.Ordinal) ? $"chapter-{int.Parse(stem[8..]):D3}" : stem;

    /// <summary>Each fortune file is one document; the `%` separators become blank lines and overstrikes are resolved.</summary>
    public static IEnumerable<CorpusDocument> FortuneFiles(IEnumerable<string> fortuneDirectories) =>
        fortuneDirectories.Where(Directory.Exists)
            .SelectMany(Directory.GetFiles)
            .Where(file => Path.GetExtension(file).Length == 0 && !IsSymbolicLink(file))
            .Where(file => Path.GetFileName(file) != "ascii-art")
            .Order(StringComparer.Ordinal)
            .Select(file => new CorpusDocument("fortunes-" + Path.GetFileName(file), "fortunes",
                DataSplits.Assign("fortunes-" + Path.GetFileName(file)), Normalize(FortuneText(File.ReadAllText(file)))));

    static bool IsSymbolicLink(string file) => new FileInfo(file).LinkTarget != null;

    public static string FortuneText(string raw)
    {
        string resolved = Overstrike().Replace(raw, "");
        return FortuneSeparator().Replace(resolved, "\n");
    }

    /// <summary>WordNet senses as `word: definition; "example"` lines, one document per letter and split.</summary>
    public static IEnumerable<CorpusDocument> WordNetDocuments(IEnumerable<WordSense> senses) =>
        senses.GroupBy(s => (Split: Lexicon.SplitOf(s.Word), Letter: LetterOf(s.Word)))
            .OrderBy(g => g.Key.Split).ThenBy(g => g.Key.Letter, StringComparer.Ordinal)
            .Select(g => new CorpusDocument($"wordnet-{g.Key.Letter}-{g.Key.Split.CorpusName()}", "wordnet", g.Key.Split,
                Normalize(string.Join("\n", g.Select(WordNetLine)))));

    static string WordNetLine(WordSense s) =>
        s.Word + ": " + s.Definition + string.Concat(s.Examples.Select(e => $"; \"{e}\""));

    /// <summary>GCIDE entries as plain text, one document per letter and split.</summary>
    public static IEnumerable<CorpusDocument> GcideDocuments(IEnumerable<GcideEntry> entries) =>
        entries.GroupBy(e => (Split: Lexicon.SplitOf(e.Headword), Letter: LetterOf(e.Headword)))
            .OrderBy(g => g.Key.Split).ThenBy(g => g.Key.Letter, StringComparer.Ordinal)
            .Select(g => new CorpusDocument($"gcide-{g.Key.Letter}-{g.Key.Split.CorpusName()}", "gcide", g.Key.Split,
                Normalize(string.Join("\n\n", g.Select(GcideReader.PlainText)))));

    public static string LetterOf(string word)
    {
        char first = word.Length == 0 ? ' ' : char.ToLowerInvariant(word[0]);
        return first is >= 'a' and <= 'z' ? first.ToString() : "other";
    }

    /// <summary>Words a definitions question can use: letters, spaces, hyphens and apostrophes only.</summary>
    public static bool IsLexiconWord(string word) => LexiconWord().IsMatch(word);

    static IEnumerable<string> TextFiles(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"expected the package's text files in {directory}");
        return Directory.GetFiles(directory, "*.txt").Order(StringComparer.Ordinal);
    }

    static CorpusDocument Named(string name, string source, string file) =>
        new(name, source, DataSplits.Assign(name), Normalize(File.ReadAllText(file)));

    /// <summary>NFC, `\n` line ends, no trailing spaces, at most one blank line in a row, one final newline.</summary>
    public static string Normalize(string text)
    {
        string lines = string.Join("\n", text.Normalize(NormalizationForm.FormC).Replace("\r\n", "\n").Replace('\r', '\n')
            .Split('\n').Select(line => line.TrimEnd()));
        return BlankLines().Replace(lines, "\n\n").Trim('\n') + "\n";
    }

    [GeneratedRegex(@".\x08")]
    private static partial Regex Overstrike();

    [GeneratedRegex(@"^%\n", RegexOptions.Multiline)]
    private static partial Regex FortuneSeparator();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z' -]*[A-Za-z]$")]
    private static partial Regex LexiconWord();
}
