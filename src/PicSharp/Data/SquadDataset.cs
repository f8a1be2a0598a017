using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Data;

/// <summary>
/// One gold answer. `AnswerStart` is the character offset of `Text` in the context, as in SQuAD v1.1; -1 marks a
/// free-form answer that is not a span of the context (PicSharp's arithmetic problems: the number is computed).
/// </summary>
public sealed record SquadAnswer(string Text, int AnswerStart);

/// <summary>One question about one context, flattened out of SQuAD's data/paragraphs/qas nesting.</summary>
public sealed record SquadExample(string Id, string Title, string Context, string Question, IReadOnlyList<SquadAnswer> Answers);

/// <summary>
/// A question-answering set in SQuAD v1.1 JSON: `{"version", "data": [{"title", "paragraphs": [{"context", "qas":
/// [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`. Loading checks every span against its context;
/// saving writes atomically and groups consecutive examples of the same title and context, so a load → save round
/// trip keeps the file's structure.
/// </summary>
public sealed class SquadDataset(IReadOnlyList<SquadExample> examples, string version = "1.1")
{
    public IReadOnlyList<SquadExample> Examples { get; } = examples;
    public string Version { get; } = version;

    public static SquadDataset Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"SQuAD file {path} not found", path);
        JsonDocument json;
        try { json = JsonDocument.Parse(Utf8File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        using (json) return Parse(json.RootElement, path);
    }

    static SquadDataset Parse(JsonElement root, string path)
    {
        var examples = new List<SquadExample>();
        string version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()! : "1.1";
        var articles = Array(root, "data", path, "$");
        for (int a = 0; a < articles.Count; a++)
        {
            string articlePath = $"$.data[{a}]";
            string title = StringField(articles[a], "title", path, articlePath);
            var paragraphs = Array(articles[a], "paragraphs", path, articlePath);
            for (int p = 0; p < paragraphs.Count; p++)
            {
                string paragraphPath = $"{articlePath}.paragraphs[{p}]";
                string context = StringField(paragraphs[p], "context", path, paragraphPath);
                var qas = Array(paragraphs[p], "qas", path, paragraphPath);
                for (int q = 0; q < qas.Count; q++)
                {
                    string qaPath = $"{paragraphPath}.qas[{q}]";
                    var answers = Array(qas[q], "answers", path, qaPath)
                        .Select((answer, i) => ParseAnswer(answer, context, path, $"{qaPath}.answers[{i}]")).ToList();
                    examples.Add(new SquadExample(StringField(qas[q], "id", path, qaPath), title, context,
                        StringField(qas[q], "question", path, qaPath), answers));
                }
            }
        }
        return new SquadDataset(examples, version);
    }

    static SquadAnswer ParseAnswer(JsonElement answer, string context, string path, string where)
    {
        string text = StringField(answer, "text", path, where);
        if (!answer.TryGetProperty("answer_start", out var start) || start.ValueKind != JsonValueKind.Number || !start.TryGetInt32(out int offset))
            throw new InvalidDataException($"{path}: {where}.answer_start is missing or not an integer" +
                (start.ValueKind == JsonValueKind.String ? $" (it is the string \"{start.GetString()}\"; write the number without quotes)" : ""));
        if (offset != -1 && (offset < 0 || offset + text.Length > context.Length
                             || string.CompareOrdinal(context, offset, text, 0, text.Length) != 0))
            throw new InvalidDataException(
                $"{path}: {where}: answer \"{text}\" does not occur at answer_start {offset} of its context");
        return new SquadAnswer(text, offset);
    }

    static List<JsonElement> Array(JsonElement parent, string name, string path, string where)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: {where}.{name} is missing or not an array");
        return value.EnumerateArray().ToList();
    }

    static string StringField(JsonElement parent, string name, string path, string where)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: {where}.{name} is missing or not a string");
        return value.GetString()!;
    }

    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("version", Version);
        json.WriteStartArray("data");
        foreach (var article in Consecutive(Examples, e => e.Title))
        {
            json.WriteStartObject();
            json.WriteString("title", article[0].Title);
            json.WriteStartArray("paragraphs");
            foreach (var paragraph in Consecutive(article, e => e.Context))
                WriteParagraph(json, paragraph);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    });

    static void WriteParagraph(Utf8JsonWriter json, List<SquadExample> paragraph)
    {
        json.WriteStartObject();
        json.WriteString("context", paragraph[0].Context);
        json.WriteStartArray("qas");
        foreach (var example in paragraph)
        {
            json.WriteStartObject();
            json.WriteString("id", example.Id);
            json.WriteString("question", example.Question);
            json.WriteStartArray("answers");
            foreach (var answer in example.Answers)
            {
                json.WriteStartObject();
                json.WriteString("text", answer.Text);
                json.WriteNumber("answer_start", answer.AnswerStart);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Runs of consecutive items with the same key, in order.</summary>
    static IEnumerable<List<SquadExample>> Consecutive(IEnumerable<SquadExample> items, Func<SquadExample, string> key)
    {
        var run = new List<SquadExample>();
        foreach (var item in items)
        {
            if (run.Count > 0 && key(run[0]) != key(item)) { yield return run; run = []; }
            run.Add(item);
        }
        if (run.Count > 0) yield return run;
    }
}
