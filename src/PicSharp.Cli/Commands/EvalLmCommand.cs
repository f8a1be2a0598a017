using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Storage;
using PicSharp.Modeling;
using Spectre.Console;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic eval-lm`: EM/F1 of a base LM on a SQuAD-format file, with the full context, with none, and with a compressor
/// from the context's memory; every mode answers the same questions.
/// </summary>
static class EvalLmCommand
{
    static readonly string[] KnownModes = ["full", "memory", MemoryAnswerer.OtherPassageMode, "none"];

    static bool IsMemoryMode(string mode) => mode is "memory" or MemoryAnswerer.OtherPassageMode;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model folder (config.json, model.safetensors, tokenizer.json)", Required = true };
        var qa = new Option<string>("--qa") { Description = "SQuAD v1.1 JSON file", Required = true };
        var limit = new Option<int?>("--limit") { Description = "evaluate only the first N examples" };
        var modes = new Option<string?>("--modes") { Description = "comma-separated: full (context in the prompt), memory (the compressed context), memory-other (the control: another passage's memory), none (question only); default full,none or, with --compressor, full,memory,none" };
        var compressor = new Option<string?>("--compressor") { Description = "compressor folder (e.g. RUN/checkpoint of train-compressor) for the memory mode" };
        var json = new Option<string?>("--json") { Description = "write the scores as JSON to this file" };
        var predictions = new Option<string?>("--predictions") { Description = "write every prediction as JSONL to this file" };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "answer length limit in tokens", DefaultValueFactory = _ => QaGeneration.DefaultMaxNewTokens };
        var maxInput = new Option<int?>("--max-context-tokens") { Description = "skip examples whose prompt is longer (default: max_position_embeddings - max new tokens)" };
        var dtype = LoadedModel.AnswerDtypeOption();
        var threads = CpuThreads.Option();
        var answering = new AnswerEngineOption();
        var command = new Command("eval-lm", "score a base LM on question answering (SQuAD EM/F1) with and without the context")
        {
            model, qa, limit, modes, compressor, json, predictions, maxNewTokens, maxInput, dtype.Option, threads, answering.Engine, answering.Gguf,
        };
        command.SetAction(parse =>
        {
            try
            {
                string? compressorDir = parse.GetValue(compressor);
                var modeNames = ParseModes(parse.GetValue(modes) ?? (compressorDir is null ? "full,none" : "full,memory,none"));
                if (modeNames.Any(IsMemoryMode) && compressorDir is null) throw new InvalidInputException($"--modes {string.Join(",", modeNames.Where(IsMemoryMode))} needs --compressor DIR");
                string? jsonPath = parse.GetValue(json), predictionsPath = parse.GetValue(predictions);
                foreach (string? output in new[] { jsonPath, predictionsPath })
                    if (output is not null) OutputPath.RequireFile(output); // before the evaluation, not after it
                int newTokens = parse.GetValue(maxNewTokens);
                if (newTokens < 1) throw new InvalidInputException($"--max-new-tokens must be at least 1, got {newTokens}");
                var examples = SquadDataset.Load(parse.GetValue(qa)!).Examples;
                if (parse.GetValue(limit) is int n)
                    examples = n >= 1 ? examples.Take(n).ToList() : throw new InvalidInputException($"--limit must be at least 1, got {n}");
                if (examples.Count == 0) throw new InvalidDataException($"{parse.GetValue(qa)}: no questions in the file");
                var loaded = LoadedModel.LoadForAnswering(parse.GetValue(model)!, dtype.Value(parse)!.Value, parse.GetValue(threads));
                int inputLimit = InputLimit(parse.GetValue(maxInput), loaded.Model.Config, newTokens);
                var compressorLoaded = compressorDir is null || !modeNames.Any(IsMemoryMode) ? null : CompressorFolder.Load(loaded.Model, compressorDir);
                // One answerer (the --engine) answers every mode.
                var answerer = answering.Factory(parse, loaded.Directory, parse.GetValue(threads))(loaded.Model, loaded.Tokenizer, compressorLoaded);
                using var engine = answerer as IDisposable;
                using var memory = compressorLoaded is null || !modeNames.Contains("memory") ? null : new MemoryAnswerer(compressorLoaded, loaded.Tokenizer, newTokens, answerer);
                using var otherMemory = compressorLoaded is null || !modeNames.Contains(MemoryAnswerer.OtherPassageMode)
                    ? null
                    : MemoryAnswerer.FromOtherPassages(compressorLoaded, loaded.Tokenizer, examples, newTokens, answerer);
                var answerers = modeNames.Select(mode => mode switch
                {
                    "memory" => memory!,
                    MemoryAnswerer.OtherPassageMode => otherMemory!,
                    _ => Answerer(mode, loaded, newTokens, answerer),
                }).ToList();

                AnsiConsole.MarkupLineInterpolated($"[grey]{loaded.Describe()}; answers decoded by {AnswerEngineOption.Describe(answerer)}; {examples.Count} questions from {parse.GetValue(qa)}[/]");
                var result = EvaluateWithProgress(answerers, examples, inputLimit);
                PrintTable(result, memory);
                if (result.Skipped.Count == result.Examples)
                    throw new InvalidDataException($"all {result.Examples} questions were skipped: every prompt is longer than {inputLimit} tokens " +
                        $"(shortest {result.Skipped.Min(s => s.InputLength)}); nothing was scored");
                if (jsonPath is not null)
                    AtomicFile.WriteAllText(jsonPath, Report(result, loaded, parse.GetValue(qa)!, newTokens, memory, compressorDir, answerer).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                if (predictionsPath is not null)
                    AtomicFile.WriteAllText(predictionsPath, PredictionLines(result));
                return 0;
            }
            catch (Exception e) { return CommandErrors.Report("pic eval-lm", e); }
        });
        return command;
    }

    /// <summary>--max-context-tokens, or the longest prompt that leaves room for the answer in the model's positions.</summary>
    static int InputLimit(int? given, LlamaConfig config, int maxNewTokens)
    {
        int room = QaEvaluation.InputLimit(config, maxNewTokens);
        if (room < 1)
            throw new InvalidInputException($"--max-new-tokens {maxNewTokens} leaves no room for a prompt in the model's {config.MaxPositionEmbeddings} positions (max_position_embeddings)");
        if (given is not int limit) return room;
        if (limit < 1 || limit > room)
            throw new InvalidInputException($"--max-context-tokens must be between 1 and {room} (max_position_embeddings {config.MaxPositionEmbeddings} - " +
                $"--max-new-tokens {maxNewTokens}), got {limit}");
        return limit;
    }

    static List<string> ParseModes(string text)
    {
        var modes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        var unknown = modes.Where(m => !KnownModes.Contains(m)).ToList();
        if (modes.Count == 0 || unknown.Count > 0)
            throw new InvalidInputException($"--modes: unknown mode(s) {string.Join(", ", unknown.DefaultIfEmpty("(none given)"))}; use {string.Join(", ", KnownModes)}");
        return modes;
    }

    static IQaAnswerer Answerer(string mode, LoadedModel loaded, int maxNewTokens, IAnswerer answerer) => mode switch
    {
        "full" => LanguageModelAnswerer.FullContext(loaded.Model, loaded.Tokenizer, maxNewTokens, answerer),
        "none" => LanguageModelAnswerer.NoContext(loaded.Model, loaded.Tokenizer, maxNewTokens, answerer),
        _ => throw new ArgumentException($"unknown mode {mode}"),
    };

    /// <summary>A live bar per mode on a terminal; a plain line every tenth of the way otherwise (logs, CI).</summary>
    static QaEvaluationResult EvaluateWithProgress(IReadOnlyList<IQaAnswerer> answerers, IReadOnlyList<SquadExample> examples, int inputLimit)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            int done = 0, total = examples.Count * answerers.Count;
            return QaEvaluation.Evaluate(answerers, examples, inputLimit, record =>
            {
                done++;
                if (done % Math.Max(1, total / 10) == 0) Console.WriteLine($"{record.Mode}: {done}/{total} answers");
            }, answerLoss: true);
        }
        QaEvaluationResult? result = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
            new ElapsedTimeColumn(), new RemainingTimeColumn()).Start(context =>
        {
            var tasks = answerers.ToDictionary(a => a.Mode, a => context.AddTask(a.Mode, maxValue: examples.Count));
            result = QaEvaluation.Evaluate(answerers, examples, inputLimit, record => tasks[record.Mode].Increment(1), answerLoss: true);
            foreach (var task in tasks.Values) task.Value = task.MaxValue;
        });
        return result!;
    }

    static void PrintTable(QaEvaluationResult result, MemoryAnswerer? memory)
    {
        var table = new Table().AddColumns("mode", "answered", "EM", "F1", "answer loss", "wall clock", "s / answer");
        foreach (var mode in result.Modes)
            table.AddRow(mode.Mode, mode.Count.ToString(), $"{mode.ExactMatch:F3}", $"{mode.F1:F3}", mode.AnswerLoss is double loss ? $"{loss:F3}" : "-",
                $"{mode.WallClock.TotalSeconds:F1} s", mode.Count == 0 ? "-" : $"{mode.WallClock.TotalSeconds / mode.Count:F2}");
        AnsiConsole.Write(table);
        if (memory is { ContextsCompressed: > 0 } m)
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]memory: {m.ContextsCompressed} passages of {(double)m.ContextTokens / m.ContextsCompressed:F0} tokens on average became {(double)m.MemoryTokens / m.ContextsCompressed:F1} memory tokens ({(double)m.ContextTokens / m.MemoryTokens:F1}x); compressing took {m.CompressionTime.TotalSeconds:F1} s, answering {m.AnswerTime.TotalSeconds:F1} s[/]");
        if (result.Skipped.Count > 0)
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]skipped {result.Skipped.Count} of {result.Examples} questions: input longer than {result.MaxInputLength} tokens (longest {result.Skipped.Max(s => s.InputLength)})[/]");
    }

    static JsonObject Report(QaEvaluationResult result, LoadedModel loaded, string qaPath, int maxNewTokens, MemoryAnswerer? memory, string? compressorDir,
        IAnswerer answerer) => new()
    {
        ["model"] = loaded.Directory,
        ["qa"] = qaPath,
        ["dtype"] = ModelFolder.TorchDtypeName(loaded.Model.Dtype),
        ["engine"] = AnswerEngineOption.Describe(answerer),
        ["max_new_tokens"] = maxNewTokens,
        ["max_input_tokens"] = result.MaxInputLength,
        ["questions"] = result.Examples,
        ["skipped"] = result.Skipped.Count,
        ["modes"] = new JsonArray(result.Modes.Select(mode =>
        {
            var node = new JsonObject
            {
                ["mode"] = mode.Mode,
                ["answered"] = mode.Count,
                ["exact_match"] = mode.ExactMatch,
                ["f1"] = mode.F1,
                ["answer_loss"] = mode.AnswerLoss,
                ["seconds"] = Math.Round(mode.WallClock.TotalSeconds, 2),
            };
            if (mode.Mode == "memory" && memory is not null) node["memory"] = MemoryReport(memory, compressorDir!);
            return (JsonNode)node;
        }).ToArray()),
    };

    // What the memory mode read: the compressor, and per passage its tokens, its memory tokens and the time split.
    static JsonObject MemoryReport(MemoryAnswerer memory, string compressorDir)
    {
        var options = memory.Compressor.Options;
        int contexts = Math.Max(1, memory.ContextsCompressed);
        return new JsonObject
        {
            ["compressor"] = compressorDir,
            ["compressor_id"] = CompressorFolder.Fingerprint(memory.Compressor),
            ["policy"] = options.Policy.Name(),
            ["kind"] = KebabCase.Name(options.Kind),
            ["ratio"] = options.Ratio,
            ["chunk_length"] = options.ChunkLength,
            ["contexts"] = memory.ContextsCompressed,
            ["context_tokens_per_context"] = (double)memory.ContextTokens / contexts,
            ["memory_tokens_per_context"] = (double)memory.MemoryTokens / contexts,
            ["compression_seconds"] = Math.Round(memory.CompressionTime.TotalSeconds, 2),
            ["answer_seconds"] = Math.Round(memory.AnswerTime.TotalSeconds, 2),
        };
    }

    static string PredictionLines(QaEvaluationResult result)
    {
        var lines = new StringBuilder();
        foreach (var record in result.Modes.SelectMany(mode => mode.Records))
            lines.AppendLine(new JsonObject
            {
                ["mode"] = record.Mode,
                ["id"] = record.Id,
                ["prediction"] = record.Prediction,
                ["golds"] = new JsonArray(record.Golds.Select(g => (JsonNode)JsonValue.Create(g)!).ToArray()),
                ["exact_match"] = record.ExactMatch,
                ["f1"] = record.F1,
                ["input_tokens"] = record.InputTokens,
                ["answer_loss"] = record.AnswerLoss,
            }.ToJsonString());
        return lines.ToString();
    }
}
