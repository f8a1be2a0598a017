using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// Reads training text for `pic pretrain-lm`: documents from a folder of .txt files, a single .txt or a .jsonl with a
/// `text` field, and SQuAD v1.1 files rendered as full QA text (prompt + answer) in PicSharp's QA prompt format.
/// </summary>
static class TrainingText
{
    public static List<string> ReadDocuments(string path)
    {
        if (Directory.Exists(path))
        {
            var files = Directory.GetFiles(path, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new TrainingException($"{path}: no .txt files");
            return files.Select(File.ReadAllText).Where(t => t.Length > 0).ToList();
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder", path);
        if (!path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) return [File.ReadAllText(path)];
        var documents = new List<string>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text;
            try { text = JsonNode.Parse(line)?["text"]?.GetValue<string>(); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new TrainingException($"{path}:{lineNumber}: not a JSON object with a string 'text' field ({e.Message})");
            }
            documents.Add(text ?? throw new TrainingException($"{path}:{lineNumber}: no 'text' field"));
        }
        return documents;
    }

    /// <summary>One text per question: context, question and the first gold answer, as the QA prompt renders them.</summary>
    public static IEnumerable<string> ReadQaExamples(string squadPath)
    {
        JsonNode root;
        try { root = JsonNode.Parse(File.ReadAllText(squadPath)) ?? throw new TrainingException($"{squadPath}: empty JSON"); }
        catch (JsonException e) { throw new TrainingException($"{squadPath}: not valid JSON ({e.Message})"); }
        var articles = root["data"]?.AsArray() ?? throw new TrainingException($"{squadPath}: no 'data' array (not SQuAD v1.1 JSON)");
        foreach (var article in articles)
            foreach (var paragraph in article?["paragraphs"]?.AsArray() ?? throw new TrainingException($"{squadPath}: an article has no 'paragraphs'"))
            {
                string context = paragraph?["context"]?.GetValue<string>() ?? throw new TrainingException($"{squadPath}: a paragraph has no 'context'");
                foreach (var qa in paragraph["qas"]?.AsArray() ?? [])
                {
                    string question = qa?["question"]?.GetValue<string>() ?? throw new TrainingException($"{squadPath}: a question has no 'question' text");
                    string? answer = qa["answers"]?.AsArray().FirstOrDefault()?["text"]?.GetValue<string>();
                    if (answer is null) throw new TrainingException($"{squadPath}: question '{qa["id"]}' has no answer");
                    yield return context + "\n\nQuestion: " + question + "\nAnswer:" + " " + answer;
                }
            }
    }
}
