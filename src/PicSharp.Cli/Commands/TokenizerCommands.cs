using System.CommandLine;
using System.Diagnostics;
using PicSharp.Data;
using PicSharp.Storage;
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
            Description = "Text to train on: folders of .txt files (recursive), .txt files, or .jsonl files (their \"text\" field)",
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
            string[] paths = parse.GetValue(input)!;
            string outputPath = parse.GetValue(output)!;
            try
            {
                OutputPath.RequireFile(outputPath); // before training, not after it
                var options = new BpeTrainerOptions
                {
                    VocabSize = parse.GetValue(vocabSize),
                    MinFrequency = parse.GetValue(minFrequency),
                    SpecialTokens = parse.GetValue(special) is { Length: > 0 } tokens ? tokens : new BpeTrainerOptions().SpecialTokens,
                };
                var clock = Stopwatch.StartNew();
                long characters = 0;
                var texts = paths.SelectMany(TextCorpus.Read).Select(text => { characters += text.Length; return text; });
                var tokenizer = BpeTrainer.Train(texts, options);
                tokenizer.Save(outputPath);
                Console.WriteLine($"trained on {characters:N0} characters in {clock.Elapsed.TotalSeconds:F1} s: " +
                    $"{tokenizer.Model.Merges.Count} merges, vocabulary {tokenizer.VocabSize} → {outputPath}");
                return 0;
            }
            catch (Exception e) { return CommandErrors.Report("pic tokenizer train", e); }
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
            try
            {
                var tokenizer = TextTokenizer.Load(parse.GetValue(tokenizerPath)!);
                Console.WriteLine(string.Join(" ", tokenizer.Encode(parse.GetValue(text)!)));
                return 0;
            }
            catch (Exception e) { return CommandErrors.Report("pic tokenizer encode", e); }
        });
        return command;
    }
}
