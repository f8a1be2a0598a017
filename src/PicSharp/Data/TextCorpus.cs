using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Data;

/// <summary>A document read from a corpus: its name (file name, or `FILE:LINE` for JSONL) and its text.</summary>
public sealed record TextDocument(string Name, string Text);

/// <summary>
/// Reads the user's own text or the fetched corpus: a folder of `.txt` files (searched recursively, one document per
/// file, in ordinal path order), a single `.txt` file, or a `.jsonl` file whose lines are objects with a `text` field.
/// </summary>
public static class TextCorpus
{
    /// <summary>The documents' texts.</summary>
    public static IEnumerable<string> Read(string path) => ReadDocuments(path).Select(d => d.Text);

    public static IEnumerable<TextDocument> ReadDocuments(string path)
    {
        if (Directory.Exists(path))
            return Directory.GetFiles(path, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(file => new TextDocument(Path.GetRelativePath(path, file), ReadUtf8(file)));
        if (!File.Exists(path))
            throw new FileNotFoundException($"corpus {path} not found: give a folder of .txt files, a .txt file or a .jsonl file", path);
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) return ReadJsonLines(path);
        return [new TextDocument(Path.GetFileName(path), ReadUtf8(path))];
    }

    static string ReadUtf8(string file) => Utf8File.ReadAllText(file);

    static IEnumerable<TextDocument> ReadJsonLines(string path)
    {
        int lineNumber = 0;
        foreach (string line in ReadUtf8(path).Split('\n'))
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            yield return new TextDocument($"{Path.GetFileName(path)}:{lineNumber}", TextField(line, path, lineNumber));
        }
    }

    static string TextField(string line, string path, int lineNumber)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind != JsonValueKind.Object
                || !json.RootElement.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}:{lineNumber}: expected a JSON object with a string \"text\" field");
            return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{lineNumber}: bad JSON ({e.Message})");
        }
    }
}
