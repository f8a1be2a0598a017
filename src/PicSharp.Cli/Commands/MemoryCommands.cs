using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Serving;
using PicSharp.Serving.Store;
using PicSharp.Storage;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic compress`, `pic ask`, `pic append`: compress a document once into a memory file, ask it questions, extend it
/// with more text (under `pic` only the new chunks are compressed). A memory file made by another compressor is refused.
/// `pic verify` checks a memory file or every memory of a store without a model.
/// </summary>
public static class MemoryCommands
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static IEnumerable<Command> Create() => [Compress(), Ask(), Append(), Verify()];

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
            string target = parse.GetValue(output)!;
            RequireOutput(target, [("--input", parse.GetValue(input)!)], engine, parse);
            string text = ReadInput(parse.GetValue(input)!);
            using var pic = engine.Open(parse);
            var ids = pic.Tokenize(text);
            var clock = Stopwatch.StartNew();
            using var memory = pic.Compress(ids, ProgressReporter("compressing"));
            MemoryFile.Save(target, memory, pic.MemoryInfo, ids);
            Report(parse.GetValue(json), target, memory, ids.Count, clock.Elapsed, pic.CompressorId);
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
            string target = parse.GetValue(output) ?? path;
            RequireOutput(target, [("--input", parse.GetValue(input)!)], engine, parse);
            MemoryFile.ReadInfo(path); // a missing file, or one that is no memory, fails before anything is claimed or loaded
            // Read, extend, write back: claimed for the whole change, so a concurrent append is refused, never lost. An
            // existing other --out is claimed too; a new one is written whole by whichever append finishes last.
            using var claim = FileClaim.Acquire(path);
            using var targetClaim = Path.GetFullPath(target) != Path.GetFullPath(path) && File.Exists(target) ? FileClaim.Acquire(target) : null;
            string text = ReadInput(parse.GetValue(input)!);
            using var pic = engine.Open(parse);
            using var old = MemoryFile.Load(path, pic.CompressorId, pic.Tokenizer.VocabSize);
            var oldIds = old.ContextIds
                ?? throw new InvalidDataException($"{path} keeps no context token ids, which appending needs; compress the whole text again with `pic compress`");
            var ids = oldIds.Concat(pic.Tokenize(text)).ToList();
            var clock = Stopwatch.StartNew();
            using var memory = pic.Extend(old.Memory, ids, ProgressReporter("appending"));
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
        var answering = new AnswerEngineOption();
        var command = new Command("ask", "Answer a question from a memory file, streaming the answer") { memoryPath, question, maxTokens, json };
        foreach (var option in engine.All.Concat(answering.All)) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic ask", () =>
        {
            string path = parse.GetValue(memoryPath)!;
            MemoryFile.ReadInfo(path); // a missing or foreign file fails before the model loads
            using var pic = engine.Open(parse, answering: answering);
            var (memory, info) = MemoryFile.Load(path, pic.CompressorId, pic.Tokenizer.VocabSize);
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

    static Command Verify()
    {
        var path = new Argument<string>("path") { Description = "a memory file (from pic compress) or a memory store (pic serve --store: a SQLite file or a PostgreSQL address)" };
        var command = new Command("verify", "Check a memory file, or every memory in a store, for damage (checksum, values, metadata); exit 1 if any is damaged") { path };
        command.SetAction(parse => CommandErrors.Run("pic verify", () =>
        {
            string target = parse.GetValue(path)!;
            if (PostgresAddress.IsPostgres(target))
            {
                using var shared = MemoryStores.Open(target);
                return Scan(shared, shared.Location);
            }
            if (!File.Exists(target)) throw new FileNotFoundException(Directory.Exists(target) ? $"{target} is a folder, not a memory file or store" : $"{target} does not exist", target);
            if (!IsSqlite(target))
            {
                using var loaded = MemoryFile.Load(target, expectedCompressorId: null);
                var info = loaded.Info;
                Console.WriteLine($"ok {target}: {KebabCase.Name(info.Kind)} memory, {loaded.Memory.Counts[0]} memory tokens of {loaded.Memory.ContextLengths[0]} " +
                    $"context tokens, compressor {info.CompressorId}, checksum verified");
                return 0;
            }
            using var store = new SqliteMemoryStore(target);
            string integrity = store.IntegrityCheck();
            if (integrity != "ok") throw new InvalidDataException($"{target}: SQLite's integrity check failed: {integrity.ReplaceLineEndings("; ")}");
            return Scan(store, target);
        }));
        return command;
    }

    static int Scan(IMemoryStore store, string name)
    {
        int total = store.Count();
        var problems = StoreScan.Run(store);
        foreach (var problem in problems) Console.WriteLine(problem.Problem);
        Console.WriteLine(problems.Count == 0
            ? $"ok {name}: all {total} memories verified"
            : $"{name}: {problems.Count} of {total} memories are damaged (listed above); delete them and create them again");
        return problems.Count == 0 ? 0 : 1;
    }

    // SQLite files begin with this 16-byte string; a memory file begins with its header length.
    static bool IsSqlite(string path)
    {
        var magic = "SQLite format 3\0"u8;
        Span<byte> start = stackalloc byte[magic.Length];
        using var file = File.OpenRead(path);
        return file.Read(start) == magic.Length && start.SequenceEqual(magic);
    }

    /// <summary>Checked before any work: the output can be written as a file and is neither an input nor inside a
    /// folder the command loads (`compress --input v.txt --out v.txt` would replace the text with its memory).</summary>
    static void RequireOutput(string output, IEnumerable<(string Option, string Path)> inputs, EngineOptions engine, ParseResult parse)
    {
        if (string.IsNullOrWhiteSpace(output)) throw new InvalidInputException("--out is empty: name the file to write");
        OutputPath.RequireFile(output);
        OutputPath.RequireNotInput(output, "--out", inputs.Where(i => i.Path != "-"), engine.LoadedFolders(parse));
    }

    /// <summary>A file's text or standard input's, which must be UTF-8 and not empty.</summary>
    internal static string ReadInput(string input)
    {
        string name = input == "-" ? "standard input" : input;
        byte[] bytes;
        if (input == "-")
        {
            using var buffer = new MemoryStream();
            Console.OpenStandardInput().CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        else if (Directory.Exists(input)) throw new IOException($"--input {input} is a folder, not a text file");
        else bytes = File.Exists(input) ? File.ReadAllBytes(input) : throw new FileNotFoundException($"input file {input} does not exist", input);
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e) { throw new InvalidDataException($"{name} is not valid UTF-8 (bad byte at offset {e.Index})"); }
        if (EmptyTextException.IsBlank(text)) throw new InvalidInputException($"{name} is empty: there is nothing to compress");
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
