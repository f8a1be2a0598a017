using System.CommandLine;
using System.Diagnostics;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using Spectre.Console;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic demo`: one unseen passage from the facts generator's test split, a few of its questions, and the model's
/// answer under each way of reading the passage (one column per answerer) beside the gold answer: the full passage,
/// its compressed memory (when a compressor folder is given or the bundled one exists) and nothing.
/// </summary>
static class DemoCommand
{
    const int PassagePreviewCharacters = 1200;
    // Short enough that several answers take seconds, long enough for a few entities.
    static readonly PassageSize DemoPassage = new(MinTokens: 150, MaxTokens: 350);

    public static Command Create()
    {
        var model = EngineOptions.ModelOption("model folder");
        var seed = new Option<int>("--seed") { Description = "which test passage (same seed, same passage)", DefaultValueFactory = _ => 1 };
        var questions = new Option<int>("--questions") { Description = "how many questions to ask", DefaultValueFactory = _ => 4 };
        var dtype = LoadedModel.AnswerDtypeOption();
        var threads = CpuThreads.Option();
        var compressor = new Option<string?>("--compressor") { Description = $"compressor folder for the memory column (default: the bundled {BundledModels.CompressorName} with the bundled model)" };
        var answering = new AnswerEngineOption();
        var command = new Command("demo", "answer questions about an unseen passage from the passage, from its compressed memory, and without it")
        {
            model, seed, questions, dtype.Option, threads, compressor, answering.Engine, answering.Gguf,
        };
        command.SetAction(parse =>
        {
            try
            {
                int count = parse.GetValue(questions);
                if (count < 1) throw new InvalidInputException($"--questions must be at least 1, got {count}");
                var clock = Stopwatch.StartNew();
                string modelDir = EngineOptions.ModelFolder(parse.GetValue(model));
                var loaded = LoadedModel.LoadForAnswering(modelDir, dtype.Value(parse)!.Value, parse.GetValue(threads));
                var examples = PassageQuestions(parse.GetValue(seed), count);
                string? compressorDir = EngineOptions.CompressorOrBundled(parse.GetValue(compressor), modelDir);
                var compressorLoaded = compressorDir is null ? null : CompressorFolder.Load(loaded.Model, compressorDir);
                // One answerer (the --engine) answers every column.
                var answerer = answering.Factory(parse, modelDir, parse.GetValue(threads))(loaded.Model, loaded.Tokenizer, compressorLoaded);
                using var engine = answerer as IDisposable;
                using var memory = compressorLoaded is null ? null : new MemoryAnswerer(compressorLoaded, loaded.Tokenizer, answerer: answerer);
                IQaAnswerer[] answerers =
                [
                    LanguageModelAnswerer.FullContext(loaded.Model, loaded.Tokenizer, answerer: answerer),
                    .. memory is null ? Array.Empty<IQaAnswerer>() : [memory],
                    LanguageModelAnswerer.NoContext(loaded.Model, loaded.Tokenizer, answerer: answerer),
                ];
                AnsiConsole.MarkupLineInterpolated($"[grey]{loaded.Describe()}; answers decoded by {AnswerEngineOption.Describe(answerer)}[/]");
                PrintPassage(examples[0]);
                var result = QaEvaluation.Evaluate(answerers, examples, QaEvaluation.InputLimit(loaded.Model.Config));
                if (result.Skipped.Count > 0)
                    throw new InvalidInputException($"the passage takes {result.Skipped[0].InputLength} tokens but the model reads at most {result.MaxInputLength}; try another --seed");
                PrintAnswers(examples, result, memory);
                if (memory is null)
                    AnsiConsole.MarkupLineInterpolated($"[grey]no compressor for {modelDir}, so no answers from memory: train one with `pic train-compressor --ratio 16 --out RUN` (then `--objective qa --from RUN/checkpoint`) and pass --compressor RUN/checkpoint[/]");
                AnsiConsole.MarkupLineInterpolated($"[grey]{clock.Elapsed.TotalSeconds:F1} s in all[/]");
                return 0;
            }
            catch (Exception e)
            {
                return CommandErrors.Report("pic demo", e);
            }
        });
        return command;
    }

    /// <summary>Distinct questions about one generated passage (the generator may ask the same thing twice).</summary>
    static List<SquadExample> PassageQuestions(int seed, int count)
    {
        var generator = new FactsGenerator { QuestionsPerContext = count * 4 };
        return generator.Generate(DataSplit.Test, count * 4, seed, DemoPassage)
            .DistinctBy(e => e.Question).Take(count).ToList();
    }

    static void PrintPassage(SquadExample example)
    {
        string text = example.Context.Length <= PassagePreviewCharacters
            ? example.Context
            : example.Context[..PassagePreviewCharacters] + $" … ({example.Context.Length - PassagePreviewCharacters} more characters)";
        AnsiConsole.Write(new Panel(new Text(text)) { Header = new PanelHeader("passage (facts, test split: names never seen in training)") });
    }

    // Fits an 80-column terminal: the gold answer sits under its question, and each cell's scores and times take one
    // short line each, so no number is split across lines.
    static void PrintAnswers(IReadOnlyList<SquadExample> examples, QaEvaluationResult result, MemoryAnswerer? memory)
    {
        var table = new Table().ShowRowSeparators().AddColumn("question [bold](gold answer)[/]");
        foreach (var mode in result.Modes) table.AddColumn(ColumnTitle(mode.Mode, memory));
        for (int i = 0; i < examples.Count; i++)
        {
            var cells = new List<Markup>
            {
                new($"{Markup.Escape(examples[i].Question)}\n[bold]{Markup.Escape(string.Join(" | ", examples[i].Answers.Select(a => a.Text)))}[/]"),
            };
            cells.AddRange(result.Modes.Select(mode => AnswerCell(mode.Records[i])));
            table.AddRow(cells);
        }
        var totals = new List<Markup> { new("[grey]mean[/]") };
        totals.AddRange(result.Modes.Select(mode => new Markup($"[grey]EM {mode.ExactMatch:F2}\nF1 {mode.F1:F2}\n{Markup.Escape(Time(mode, memory))}[/]")));
        table.AddRow(totals);
        AnsiConsole.Write(table);
    }

    static Markup AnswerCell(QaRecord record)
    {
        string colour = record.ExactMatch == 1 ? "green" : record.F1 > 0 ? "yellow" : "red";
        string answer = record.Prediction.Length == 0 ? "(empty)" : record.Prediction;
        return new Markup($"[{colour}]{Markup.Escape(answer)}[/]\n[grey]EM {record.ExactMatch:F0} F1 {record.F1:F2}[/]");
    }

    static string ColumnTitle(string mode, MemoryAnswerer? memory) => mode switch
    {
        "full" => "from the passage",
        "memory" => $"from its {memory!.Compressor.Options.Ratio}x memory ({memory.MemoryTokens} vectors)",
        "none" => "from nothing",
        _ => mode,
    };

    static string Time(QaModeScore mode, MemoryAnswerer? memory) => mode.Mode == "memory"
        ? $"compress {memory!.CompressionTime.TotalSeconds:F2} s\nanswer {memory.AnswerTime.TotalSeconds:F1} s"
        : $"{mode.WallClock.TotalSeconds:F1} s";
}
