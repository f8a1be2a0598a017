using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using PicSharp.Tokenization;

namespace PicSharp.Cli.Commands;

/// <summary>`pic tokenizer train|encode`: byte-level BPE training and a quick look at a tokenizer's ids.</summary>
static class TokenizerCommands
{
    public static Command Create()
    {
        var command = new Command("tokenizer", "Train a byte-level BPE tokenizer or encode text with a tokenizer.json");
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(CreateEncode());
        return command;
    }

    static Command CreateTrain()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "Text to train on: .txt files, .jsonl files (their \"text\" field) or folders of them (recursive)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Total vocabulary including special tokens", DefaultValueFactory = _ => 8192 };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop when the best pair is rarer than this", DefaultValueFactory = _ => 2 };
        var special = new Option<string[]>("--special-token")
        {
            Description = "Special tokens (repeatable); default <|bos|> <|eos|> <|pad|>",
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "tokenizer.json to write", Required = true };
        var command = new Command("train", "Train a byte-level BPE tokenizer (Llama-3 pre-tokenizing regex) and write tokenizer.json")
        {
            input, vocabSize, minFrequency, special, output,
        };
        command.SetAction(parse =>
        {
            var options = new BpeTrainerOptions
            {
                VocabSize = parse.GetValue(vocabSize),
                MinFrequency = parse.GetValue(minFrequency),
                SpecialTokens = parse.GetValue(special) is { Length: > 0 } tokens ? tokens : new BpeTrainerOptions().SpecialTokens,
            };
            string[] paths = parse.GetValue(input)!;
            var missing = paths.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
            if (missing.Count > 0)
            {
                Console.Error.WriteLine($"input not found: {string.Join(", ", missing)}");
                return 1;
            }
            var clock = Stopwatch.StartNew();
            long characters = 0;
            var tokenizer = BpeTrainer.Train(TrainingTexts.Read(paths).Select(text => { characters += text.Length; return text; }), options);
            tokenizer.Save(parse.GetValue(output)!);
            Console.WriteLine($"trained on {characters:N0} characters in {clock.Elapsed.TotalSeconds:F1} s: " +
                $"{tokenizer.Model.Merges.Count} merges, vocabulary {tokenizer.VocabSize} → {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }

    static Command CreateEncode()
    {
        var tokenizerPath = new Option<string>("--tokenizer") { Description = "tokenizer.json", Required = true };
        var text = new Option<string>("--text") { Description = "Text to encode", Required = true };
        var command = new Command("encode", "Print the token ids of a text (no special tokens added)") { tokenizerPath, text };
        command.SetAction(parse =>
        {
            var tokenizer = TextTokenizer.Load(parse.GetValue(tokenizerPath)!);
            Console.WriteLine(string.Join(" ", tokenizer.Encode(parse.GetValue(text)!)));
            return 0;
        });
        return command;
    }
}

/// <summary>Documents from .txt files (one each) and .jsonl files (one per line, field "text"), files or folders.</summary>
static class TrainingTexts
{
    public static IEnumerable<string> Read(IEnumerable<string> paths)
    {
        foreach (string path in paths)
            foreach (string file in Directory.Exists(path) ? FilesUnder(path) : [path])
                foreach (string text in ReadFile(file))
                    yield return text;
    }

    static IEnumerable<string> FilesUnder(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);

    static IEnumerable<string> ReadFile(string file)
    {
        if (!file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            yield return File.ReadAllText(file);
            yield break;
        }
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            yield return TextField(line, file, lineNumber);
        }
    }

    static string TextField(string line, string file, int lineNumber)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}:{lineNumber}: not valid JSON ({e.Message})");
        }
        throw new InvalidDataException($"{file}:{lineNumber}: expected an object with a string field \"text\"");
    }
}
