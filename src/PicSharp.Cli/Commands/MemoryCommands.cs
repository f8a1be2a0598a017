using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Serving;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic compress`, `pic ask`, `pic append`: compress a document once into a memory file, ask it questions, extend it
/// with more text (under `pic` only the new chunks are compressed). A memory file made by another compressor is refused.
/// </summary>
public static class MemoryCommands
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static IEnumerable<Command> Create() => [Compress(), Ask(), Append()];

    static Command Compress()
    {
        var engine = new EngineOptions();
        var input = new Option<string>("--input") { Description = "text file to compress, or - for standard input", Required = true };
        var output = new Option<string>("--out") { Description = "memory file to write (X.mem)", Required = true };
        var json = new Option<bool>("--json") { Description = "print a JSON summary" };
        var command = new Command("compress", "Compress a text into a memory file (progress on standard error)") { input, output, json };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic compress", () =>
        {
            string text = ReadInput(parse.GetValue(input)!);
            using var pic = engine.Open(parse);
            var ids = pic.Tokenize(text);
            var clock = Stopwatch.StartNew();
            using var memory = pic.Compress(ids, ProgressReporter("compressing"));
            MemoryFile.Save(parse.GetValue(output)!, memory, pic.MemoryInfo, ids);
            Report(parse.GetValue(json), parse.GetValue(output)!, memory, ids.Count, clock.Elapsed, pic.CompressorId);
            return 0;
        }));
        return command;
    }

    static Command Append()
    {
        var engine = new EngineOptions();
        var memoryPath = new Option<string>("--memory") { Description = "memory file to extend", Required = true };
        var input = new Option<string>("--input") { Description = "text file to append, or - for standard input", Required = true };
        var output = new Option<string?>("--out") { Description = "memory file to write (default: replace --memory)" };
        var json = new Option<bool>("--json") { Description = "print a JSON summary" };
        var command = new Command("append", "Append text to a memory file; under `pic` only the new chunks are compressed") { memoryPath, input, output, json };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic append", () =>
        {
            string path = parse.GetValue(memoryPath)!;
            string text = ReadInput(parse.GetValue(input)!);
            using var pic = engine.Open(parse);
            var (old, _) = MemoryFile.Load(path, pic.CompressorId);
            using var _old = old;
            var oldIds = MemoryFile.ReadContextIds(path)
                ?? throw new InvalidDataException($"{path} keeps no context token ids, which appending needs; compress the whole text again with `pic compress`");
            var ids = oldIds.Concat(pic.Tokenize(text)).ToList();
            var clock = Stopwatch.StartNew();
            using var memory = pic.Extend(old, ids, ProgressReporter("appending"));
            string target = parse.GetValue(output) ?? path;
            MemoryFile.Save(target, memory, pic.MemoryInfo, ids);
            Report(parse.GetValue(json), target, memory, ids.Count, clock.Elapsed, pic.CompressorId);
            return 0;
        }));
        return command;
    }

    static Command Ask()
    {
        var engine = new EngineOptions();
        var memoryPath = new Option<string>("--memory") { Description = "memory file (from pic compress)", Required = true };
        var question = new Option<string>("--question") { Description = "the question", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "longest answer in tokens", DefaultValueFactory = _ => 32 };
        var json = new Option<bool>("--json") { Description = "print the answer and its costs as JSON instead of streaming it" };
        var command = new Command("ask", "Answer a question from a memory file, streaming the answer") { memoryPath, question, maxTokens, json };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic ask", () =>
        {
            using var pic = engine.Open(parse);
            string path = parse.GetValue(memoryPath)!;
            var (memory, info) = MemoryFile.Load(path, pic.CompressorId);
            using var _ = memory;
            bool asJson = parse.GetValue(json);
            var request = pic.Answerer.FromMemory(memory, parse.GetValue(question)!, parse.GetValue(maxTokens));
            var answer = pic.Answerer.Answer([request with { OnText = asJson ? null : piece => Console.Write(piece) }])[0];
            if (asJson)
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    answer = answer.Text, prompt_tokens = answer.PromptTokens, answer_tokens = answer.AnswerTokens,
                    stop_reason = answer.Reason.Name(), seconds = answer.ModelSeconds,
                    memory = new { path, compressor_id = info.CompressorId, memory_tokens = memory.Counts[0], context_tokens = memory.ContextLengths[0] },
                }, Json));
            else
            {
                Console.WriteLine();
                Console.Error.WriteLine($"[{answer.AnswerTokens} tokens in {answer.ModelSeconds:F2} s from {memory.Counts[0]} memory tokens ({memory.ContextLengths[0]} context tokens)]");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>A file's text or standard input's, which must be UTF-8 and not empty.</summary>
    static string ReadInput(string input)
    {
        string name = input == "-" ? "standard input" : input;
        byte[] bytes;
        if (input == "-")
        {
            using var buffer = new MemoryStream();
            Console.OpenStandardInput().CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        else bytes = File.Exists(input) ? File.ReadAllBytes(input) : throw new FileNotFoundException($"input file {input} does not exist", input);
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e) { throw new InvalidDataException($"{name} is not valid UTF-8 (bad byte at offset {e.Index})"); }
        if (string.IsNullOrWhiteSpace(text)) throw new InvalidInputException($"{name} is empty: there is nothing to compress");
        return text.TrimStart('\uFEFF');
    }

    // Long inputs compress in pieces (a few chunks each); every finished piece prints one line to standard error.
    static Action<int, int> ProgressReporter(string verb)
    {
        var clock = Stopwatch.StartNew();
        int started = -1;
        return (done, total) =>
        {
            if (started < 0) { started = done; return; } // where this run starts: nothing compressed yet
            Console.Error.WriteLine($"{verb}: {done}/{total} tokens ({100.0 * done / total:F0}%, {clock.Elapsed.TotalSeconds:F1} s)");
        };
    }

    static void Report(bool json, string path, CompressedMemory memory, int contextTokens, TimeSpan took, string compressorId)
    {
        long bytes = new FileInfo(path).Length;
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new { path, compressor_id = compressorId, context_tokens = contextTokens, memory_tokens = memory.Counts[0], bytes, seconds = took.TotalSeconds }, Json));
        else
            Console.WriteLine($"wrote {path}: {contextTokens} context tokens -> {memory.Counts[0]} memory tokens, {bytes / 1024.0:F1} KiB, {took.TotalSeconds:F2} s (compressor {compressorId})");
    }
}
