using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Data;

/// <summary>One sense of a word as a dictionary gives it: the gloss and any example sentences.</summary>
public sealed record WordSense(string Word, string Definition, IReadOnlyList<string> Examples, string Source);

/// <summary>A word with all its definitions (WordNet first, then GCIDE), as stored in data/lexicon/SPLIT.jsonl.</summary>
public sealed record LexiconEntry(string Word, IReadOnlyList<string> Definitions);

/// <summary>Reads and writes lexicon files: one JSON object per line, {"word": ..., "definitions": [...]}.</summary>
public static class Lexicon
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The split a word belongs to; a word's senses from every source share it.</summary>
    public static DataSplit SplitOf(string word) => DataSplits.Assign("word:" + word.ToLowerInvariant());

    /// <summary>Groups senses by word (case-insensitive), keeping the first-seen spelling and each distinct definition once.</summary>
    public static List<LexiconEntry> Group(IEnumerable<WordSense> senses)
    {
        var byWord = new Dictionary<string, (string Word, List<string> Definitions)>(StringComparer.OrdinalIgnoreCase);
        foreach (var sense in senses)
        {
            if (!byWord.TryGetValue(sense.Word, out var entry))
                byWord[sense.Word] = entry = (sense.Word, []);
            if (!entry.Definitions.Contains(sense.Definition)) entry.Definitions.Add(sense.Definition);
        }
        return byWord.Values.OrderBy(e => e.Word, StringComparer.Ordinal)
            .Select(e => new LexiconEntry(e.Word, e.Definitions)).ToList();
    }

    public static void Save(string path, IEnumerable<LexiconEntry> entries) => AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        foreach (var entry in entries) writer.WriteLine(JsonSerializer.Serialize(entry, Json));
    });

    public static List<LexiconEntry> Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"lexicon file {path} not found; run `pic data fetch` to build it", path);
        var entries = new List<LexiconEntry>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            LexiconEntry? entry;
            try { entry = JsonSerializer.Deserialize<LexiconEntry>(line, Json); }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{lineNumber}: bad JSON ({e.Message})"); }
            if (entry?.Word is not { Length: > 0 } || entry.Definitions is not { Count: > 0 })
                throw new InvalidDataException($"{path}:{lineNumber}: an entry needs a word and at least one definition");
            entries.Add(entry);
        }
        return entries;
    }
}
