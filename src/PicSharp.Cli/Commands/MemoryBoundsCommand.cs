using System.CommandLine;
using System.Text.Json;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic memory-bounds`: how well the frozen decoder of a base model reconstructs held-out text from no memory (the
/// floor) and from the text itself (the ceiling). Every compressor trained against that decoder lands between the two,
/// so this is the check to run on a base model before training compressors on it.
/// </summary>
static class MemoryBoundsCommand
{
    const string Name = "pic memory-bounds";

    public static Command Create()
    {
        var model = EngineOptions.ModelOption("base model folder (config.json, model.safetensors, tokenizer.json)");
        var compressor = new Option<string?>("--compressor") { Description = "also score this trained compressor's memory (and use its <ae> task token for the bounds; without it an untrained one, whose task token hardly matters)" };
        var validation = new Option<string>("--validation") { Description = "held-out text: a folder of .txt or a .jsonl with 'text'", DefaultValueFactory = _ => "data/corpus/validation" };
        var window = new Option<int>("--window") { Description = "tokens per held-out window", DefaultValueFactory = _ => 128 };
        var samples = new Option<int>("--samples") { Description = "held-out windows, spread evenly over the text", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "windows per forward pass", DefaultValueFactory = _ => 16 };
        var json = new Option<string?>("--json") { Description = "write the bounds as JSON to this file" };
        var optimise = new Option<bool>("--optimise") { Description = "instead: fit memory vectors to each passage of --qa directly (no compressor), then answer its questions from them: whether the decoder can read memory at all" };
        var qa = new Option<string?>("--qa") { Description = "with --optimise: SQuAD v1.1 JSON whose passages are fitted and whose questions are answered" };
        var passages = new Option<int>("--passages") { Description = "with --optimise: passages of --qa to fit (all their questions are asked)", DefaultValueFactory = _ => 12 };
        var ratios = new Option<string>("--ratios") { Description = "with --optimise: context tokens per memory vector, comma-separated", DefaultValueFactory = _ => "4,16" };
        var steps = new Option<int>("--steps") { Description = "with --optimise: Adam steps on the vectors", DefaultValueFactory = _ => 200 };
        var lr = new Option<double>("--lr") { Description = "with --optimise: Adam's learning rate on the vectors", DefaultValueFactory = _ => 0.05 };
        var threads = CpuThreads.Option();
        var command = new Command("memory-bounds", "autoencoding floor (no memory) and ceiling (the text itself as memory) of a base model's frozen decoder; with --optimise, what it reads from memory fitted to each passage")
        {
            model, compressor, validation, window, samples, batch, json, optimise, qa, passages, ratios, steps, lr, threads,
        };
        command.SetAction(parse => CommandErrors.Run(Name, () =>
        {
            if (parse.GetValue(optimise))
                return Optimise(parse.GetValue(model)!, parse.GetValue(compressor), parse.GetValue(qa), parse.GetValue(passages), parse.GetValue(ratios)!,
                    parse.GetValue(steps), parse.GetValue(lr), parse.GetValue(batch), parse.GetValue(json), parse.GetValue(threads));
            int length = parse.GetValue(window), count = parse.GetValue(samples), perBatch = parse.GetValue(batch);
            if (length < 1) throw new InvalidInputException($"--window must be at least 1, got {length}");
            if (count < 1) throw new InvalidInputException($"--samples must be at least 1, got {count}");
            if (perBatch < 1) throw new InvalidInputException($"--batch must be at least 1, got {perBatch}");
            string? jsonPath = parse.GetValue(json);
            if (jsonPath is not null) OutputPath.RequireFile(jsonPath);
            CpuThreads.Set(parse.GetValue(threads));

            var loaded = LoadedModel.Load(EngineOptions.ModelFolder(parse.GetValue(model)), dtype: null, "measuring memory bounds");
            using var baseModel = loaded.Model;
            // Ceiling rows hold the window twice (as memory, then as target) after one task token.
            if (2 * length + 1 > baseModel.Config.MaxPositionEmbeddings)
                throw new InvalidInputException($"--window {length} needs {2 * length + 1} positions but the model has {baseModel.Config.MaxPositionEmbeddings}");
            string validationPath = parse.GetValue(validation)!;
            var encoder = TokenEncoder.ForDocuments(loaded.Tokenizer, loaded.Directory, tokenizerHash: "");
            var stream = TokenizedMix.Build(TokenizedMix.ReadDocuments(validationPath), [], encoder).CorpusTokens;
            var windows = CorpusWindows.SpreadWindows(stream, length, count);
            if (windows.Count == 0) throw new InvalidDataException($"{validationPath}: {stream.Length} tokens, less than one window of {length}");

            string? compressorDir = parse.GetValue(compressor);
            using var reader = compressorDir is null ? new Compressor(baseModel, new CompressorOptions()) : CompressorFolder.Load(baseModel, compressorDir);
            var bounds = MemoryBounds.Measure(reader, windows, perBatch, measureCompressor: compressorDir is not null);
            Console.WriteLine($"{loaded.Describe()}; {windows.Count} held-out windows of {length} tokens from {validationPath}");
            Console.WriteLine($"floor   (no memory):            token accuracy {bounds.Floor.Accuracy:F3}, loss {bounds.Floor.Loss:F4}");
            if (bounds.Compressed is { } compressed)
                Console.WriteLine($"{compressorDir}: token accuracy {compressed.Accuracy:F3}, loss {compressed.Loss:F4} " +
                    $"({reader.Options.Policy.Name()} {KebabCase.Name(reader.Options.Kind)} {reader.Options.Ratio}x)");
            if (bounds.OtherWindow is { } other)
                Console.WriteLine($"control (the next window's memory): token accuracy {other.Accuracy:F3}, loss {other.Loss:F4}");
            Console.WriteLine($"ceiling (the text as memory):   token accuracy {bounds.Ceiling.Accuracy:F3}, loss {bounds.Ceiling.Loss:F4}");
            if (jsonPath is not null)
                AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(new
                {
                    model = loaded.Directory, validation = validationPath, window = length, windows = windows.Count,
                    floor = new { accuracy = bounds.Floor.Accuracy, loss = bounds.Floor.Loss },
                    ceiling = new { accuracy = bounds.Ceiling.Accuracy, loss = bounds.Ceiling.Loss },
                    compressor = bounds.Compressed is { } c ? new
                    {
                        folder = compressorDir, accuracy = c.Accuracy, loss = c.Loss,
                        other_window = bounds.OtherWindow is { } o ? new { accuracy = o.Accuracy, loss = o.Loss } : null,
                    } : null,
                }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return command;
    }

    static int Optimise(string modelDir, string? compressorDir, string? qaPath, int passageCount, string ratioList, int steps, double lr,
        int batch, string? jsonPath, int threads)
    {
        if (qaPath is null) throw new InvalidInputException("--optimise needs --qa FILE: the passages to fit and the questions to ask");
        if (passageCount < 2) throw new InvalidInputException($"--passages must be at least 2 (the control reads another passage's memory), got {passageCount}");
        var ratioParts = ratioList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (ratioParts.Length == 0 || !ratioParts.All(r => int.TryParse(r, out int v) && v >= 1))
            throw new InvalidInputException($"--ratios must be positive integers separated by commas, got '{ratioList}'");
        if (jsonPath is not null) OutputPath.RequireFile(jsonPath);
        CpuThreads.Set(threads);

        var loaded = LoadedModel.Load(modelDir, dtype: null, "fitting memory");
        using var baseModel = loaded.Model;
        var all = SquadDataset.Load(qaPath).Examples;
        var contexts = all.Select(e => e.Context).Distinct().Take(passageCount).ToHashSet();
        var examples = all.Where(e => contexts.Contains(e.Context)).ToList();
        // The task tokens (<ae>, <qa>) come from a trained compressor: a base model reads them, not random vectors.
        using var reader = compressorDir is null ? new Compressor(baseModel, new CompressorOptions()) : CompressorFolder.Load(baseModel, compressorDir);
        Console.WriteLine($"{loaded.Describe()}; {contexts.Count} passages and {examples.Count} questions of {qaPath}; task tokens of " +
            (compressorDir ?? "an untrained compressor (random: give --compressor for trained ones)"));
        var results = ratioParts.Select(int.Parse).Select(ratio =>
            OptimisedMemory.Measure(reader, loaded.Tokenizer, examples, ratio, steps, lr, batch, message => Console.WriteLine(message))).ToList();

        Console.WriteLine($"| ratio | reconstruction accuracy, start -> after {steps} steps | EM / F1 from its memory | EM / F1 from another passage's memory |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in results)
            Console.WriteLine($"| {r.Ratio}x | {r.StartReconstruction.Accuracy:F3} -> {r.Reconstruction.Accuracy:F3} | {r.FromMemory.ExactMatch:F3} / {r.FromMemory.F1:F3} | {r.FromOtherMemory.ExactMatch:F3} / {r.FromOtherMemory.F1:F3} |");
        if (jsonPath is not null)
            AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                model = loaded.Directory, qa = qaPath, passages = contexts.Count, questions = examples.Count, task_tokens = compressorDir, steps, lr,
                ratios = results.Select(r => new
                {
                    ratio = r.Ratio,
                    reconstruction_start = new { accuracy = r.StartReconstruction.Accuracy, loss = r.StartReconstruction.Loss },
                    reconstruction = new { accuracy = r.Reconstruction.Accuracy, loss = r.Reconstruction.Loss },
                    from_memory = new { em = r.FromMemory.ExactMatch, f1 = r.FromMemory.F1 },
                    from_other_memory = new { em = r.FromOtherMemory.ExactMatch, f1 = r.FromOtherMemory.F1 },
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
}
