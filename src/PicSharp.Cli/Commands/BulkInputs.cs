using System.Text.Json;
using PicSharp.Serving.Bulk;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The documents `pic enqueue` is given: text files, folders (every file under them, in name order) and JSON lines
/// files (*.jsonl: one {"text": ..., "id": ...} object per line, id optional). All are read and checked before anything
/// is published, so a bad input stops the command with nothing enqueued.
/// </summary>
static class BulkInputs
{
    public static IReadOnlyList<BulkDocument> Read(IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 0) throw new InvalidInputException("no inputs: give text files, folders or .jsonl files");
        var documents = new List<BulkDocument>();
        foreach (string input in inputs)
        {
            if (Directory.Exists(input))
            {
                var files = Directory.GetFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new InvalidInputException($"folder {input} has no files");
                foreach (string file in files) documents.AddRange(ReadFile(file));
            }
            else documents.AddRange(ReadFile(input));
        }
        return documents;
    }

    static IEnumerable<BulkDocument> ReadFile(string file) =>
        file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ReadJsonLines(file) : [new BulkDocument(file, MemoryCommands.ReadInput(file))];

    static List<BulkDocument> ReadJsonLines(string file)
    {
        var documents = new List<BulkDocument>();
        string[] lines = MemoryCommands.ReadInput(file).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            string where = $"{file} line {i + 1}";
            JsonElement line;
            try { line = JsonDocument.Parse(lines[i]).RootElement; }
            catch (JsonException e) { throw new InvalidDataException($"{where} is not JSON: {e.Message}"); }
            if (line.ValueKind != JsonValueKind.Object || !line.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{where} has no \"text\" string: each line must be an object such as {{\"text\": \"...\", \"id\": \"doc-1\"}}");
            if (EmptyTextException.IsBlank(text.GetString()!)) throw new InvalidInputException($"{where}: the text is empty: there is nothing to compress");
            string source = line.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : where;
            documents.Add(new BulkDocument(source, text.GetString()!));
        }
        if (documents.Count == 0) throw new InvalidInputException($"{file} holds no documents");
        return documents;
    }
}
