using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using PicSharp.Evaluation;
using PicSharp.Storage;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using Spectre.Console;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>`pic init`, `pic info`, `pic generate`, `pic perplexity`: make, inspect and run a model folder.</summary>
public static class ModelCommands
{
    public static IEnumerable<Command> Create() => [Init(), Info(), Generate(), PerplexityCommand()];

    static Command Init()
    {
        var config = new Option<FileInfo>("--config") { Description = "HF config.json of the architecture", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "model folder to create", Required = true };
        var tokenizer = new Option<FileInfo?>("--tokenizer") { Description = "tokenizer.json to copy into the folder" };
        var seed = new Option<long>("--seed") { Description = "random seed of the weights", DefaultValueFactory = _ => 0 };
        var dtype = new DtypeOption("--dtype", "weights (default: the config's torch_dtype)",
            [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16]);
        var force = new Option<bool>("--force") { Description = "write into a folder that is not empty" };
        var shardSize = new Option<double?>("--max-shard-gb") { Description = "write shards of at most this size plus an index (default: one file)" };
        var threads = CpuThreads.Option();
        var command = new Command("init", "Create a randomly initialised model folder (config.json, model.safetensors, tokenizer.json)")
        { config, output, tokenizer, seed, dtype.Option, force, shardSize, threads };
        command.SetAction(parse => Run("pic init", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            var dir = parse.GetValue(output)!;
            OutputPath.RequireFolder(dir.FullName);
            if (dir.Exists && dir.EnumerateFileSystemInfos().Any() && !parse.GetValue(force))
                throw new IOException($"{dir.FullName} is not empty; pass --force to write into it");
            var modelConfig = LlamaConfig.Load(RequireFile(parse.GetValue(config)!, "config").FullName);
            var tokenizerFile = parse.GetValue(tokenizer);
            if (tokenizerFile is not null)
            {
                var loaded = TextTokenizer.Load(RequireFile(tokenizerFile, "tokenizer").FullName);
                if (loaded.VocabSize > modelConfig.VocabSize)
                    throw new InvalidInputException($"{tokenizerFile.FullName} has {loaded.VocabSize} tokens but the config's vocab_size is {modelConfig.VocabSize}");
            }
            var weightsDtype = dtype.Value(parse) ?? ModelFolder.ParseTorchDtype(modelConfig.TorchDtype);
            long? maxShardBytes = parse.GetValue(shardSize) is double gb
                ? gb > 0 ? (long)(gb * 1e9) : throw new InvalidInputException("--max-shard-gb must be positive")
                : null;

            using var model = new LlamaForCausalLM(modelConfig, weightsDtype);
            model.InitializeWeights(parse.GetValue(seed));
            ModelFolder.Save(model, dir.FullName, weightsDtype, maxShardBytes);
            string tokenizerTarget = Path.Combine(dir.FullName, ModelFolder.TokenizerFile);
            if (tokenizerFile is not null) ModelFolder.CopyTokenizer(tokenizerFile.FullName, dir.FullName);
            else File.Delete(tokenizerTarget); // a --force rewrite must not keep another model's tokenizer
            Console.WriteLine($"wrote {dir.FullName}: {model.parameters().Sum(p => p.numel()):N0} parameters, {ModelFolder.TorchDtypeName(weightsDtype)}" +
                (tokenizerFile is null ? ", no tokenizer" : ", tokenizer.json"));
        }));
        return command;
    }

    static Command Info()
    {
        var dir = new Argument<FileSystemInfo?>("dir") { Description = "model folder or GGUF file (default: the bundled model)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("info", "Where the bundled model and compressor are; architecture, parameter counts, dtype and size of a model folder or GGUF file (reads headers only)") { dir };
        command.SetAction(parse => Run("pic info", () =>
        {
            if (parse.GetValue(dir) is FileInfo gguf && (gguf.Exists || gguf.Extension == ".gguf"))
            {
                ExportCommands.PrintInfo(gguf.FullName);
                return;
            }
            PrintBundledModels();
            var folder = parse.GetValue(dir) is { } given ? new DirectoryInfo(given.FullName) : new DirectoryInfo(BundledModels.Locate().Model);
            LoadedModel.RequireFolder(folder.FullName);
            Console.WriteLine($"model folder: {folder.FullName}");
            var config = LlamaConfig.Load(Path.Combine(folder.FullName, ModelFolder.ConfigFile), out var ignoredKeys);
            var weights = ModelFolder.WeightFiles(folder.FullName);
            var entries = weights.SelectMany(path => { using var reader = new SafeTensorsReader(path); return reader.Header.Tensors; }).ToList();
            long Count(Func<string, bool> which) => entries.Where(e => which(e.Name)).Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
            long total = Count(_ => true);
            long embedding = Count(n => n.Contains("embed_tokens") || n == "lm_head.weight");

            var table = new Table().HideHeaders().AddColumns("", "");
            table.AddRow("architecture", $"{config.ModelType} ({config.Architecture})" + (config.SlidingWindow is int window ? $", sliding window {window}" : ""));
            table.AddRow("layers", $"{config.NumHiddenLayers}");
            table.AddRow("hidden / intermediate", $"{config.HiddenSize} / {config.IntermediateSize}");
            table.AddRow("heads / kv heads / head dim", $"{config.NumAttentionHeads} / {config.NumKeyValueHeads} / {config.HeadDim}");
            table.AddRow("vocab", $"{config.VocabSize}");
            table.AddRow("tied embeddings", $"{config.TieWordEmbeddings}");
            table.AddRow("max positions / rope theta", $"{config.MaxPositionEmbeddings} / {config.RopeTheta}" + (config.RopeScaling is null ? "" : $" (llama3 scaling ×{config.RopeScaling.Factor})"));
            table.AddRow("parameters", $"{total:N0} total, {embedding:N0} embedding, {total - embedding:N0} non-embedding");
            // Named as config.json names them (float32, bfloat16), not as safetensors headers do (F32, BF16).
            table.AddRow("dtype", string.Join(", ", entries.Select(e => e.Dtype).Distinct().Select(d =>
                d is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 ? ModelFolder.TorchDtypeName(d) : $"{d}")) + $" (config: {config.TorchDtype})");
            table.AddRow("weights", $"{weights.Count} file(s), {weights.Sum(w => new FileInfo(w).Length) / 1e6:F1} MB");
            table.AddRow("tokenizer", LoadedModel.TokenizerIn(folder.FullName) is { } tokenizer ? $"vocab {tokenizer.VocabSize}" : "none");
            table.AddRow("ignored config keys", ignoredKeys.Count == 0 ? "none" : Markup.Escape(string.Join(", ", ignoredKeys)));
            AnsiConsole.Write(table);
        }));
        return command;
    }

    /// <summary>Where the lookup of <see cref="BundledModels"/> found the bundled model and compressor, or every folder it tried.</summary>
    static void PrintBundledModels()
    {
        if (BundledModels.Find() is { } found)
        {
            Console.WriteLine($"bundled models: {found.Folder} (found by {found.FoundBy})");
            Console.WriteLine($"  model:      {found.Model}");
            Console.WriteLine($"  compressor: {found.Compressor}" + (Directory.Exists(found.Compressor) ? "" : " (missing)"));
        }
        else
            Console.WriteLine("bundled models: not found in " + string.Join(", ", BundledModels.Candidates().Select(c => $"{c.Folder} ({c.FoundBy})")) +
                $"; set {BundledModels.EnvironmentVariable} to a folder holding {BundledModels.ModelName} and {BundledModels.CompressorName}");
    }

    static Command Generate()
    {
        var model = ModelOption();
        var prompt = new Option<string>("--prompt") { Description = "text to continue", Required = true };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "at most this many tokens (and never past the model's max_position_embeddings)", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0 };
        var stop = new Option<string[]>("--stop") { Description = "stop when this text appears (repeatable)" };
        var noBos = NoBosOption();
        var dtype = DtypeOption.ForModel(null);
        var threads = CpuThreads.Option();
        var command = new Command("generate", "Continue a prompt, streaming tokens as they are produced")
        { model, prompt, maxNewTokens, temperature, topP, seed, stop, noBos, dtype.Option, threads };
        command.SetAction(parse => Run("pic generate", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            var stopStrings = parse.GetValue(stop) ?? [];
            var requested = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNewTokens),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                StopStrings = stopStrings,
            };
            requested.Validate(); // before the model loads
            var loaded = LoadedModel.Load(parse.GetValue(model)!.FullName, dtype.Value(parse), "generate");
            using var llm = loaded.Model;
            var tokenizer = loaded.Tokenizer;
            var promptIds = PromptIds(parse.GetValue(prompt)!, llm.Config, tokenizer, parse.GetValue(noBos));
            if (promptIds.Count == 0) throw new InvalidInputException("the prompt is empty and the model has no BOS token to start from");
            int window = llm.Config.MaxPositionEmbeddings;
            if (promptIds.Count >= window)
                throw new InvalidInputException($"the prompt has {promptIds.Count} tokens but the model reads at most {window} (max_position_embeddings), new tokens included");
            // Positions past the window were never trained (and RoPE tables may end there): stop at its end.
            int room = window - promptIds.Count;
            var options = requested with
            {
                MaxNewTokens = Math.Min(requested.MaxNewTokens, room),
                StopTokenIds = [.. llm.Config.EosTokenIds, .. tokenizer.EosTokenId is int eos ? [eos] : Array.Empty<int>()],
            };

            string Decode(IReadOnlyList<int> ids) => tokenizer.Decode(ids, skipIdsWithoutText: true);
            var clock = Stopwatch.StartNew();
            double? firstToken = null;
            using var scope = NewDisposeScope();
            var embeddings = llm.Embed(tensor(promptIds.Select(i => (long)i).ToArray()).unsqueeze(0));
            var result = TextGeneration.Generate(llm, embeddings, options, decode: Decode,
                onToken: _ => firstToken ??= clock.Elapsed.TotalSeconds, onText: Console.Write);
            double seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine();
            int n = result.Tokens.Count;
            bool atWindow = result.Reason == StopReason.MaxNewTokens && options.MaxNewTokens < requested.MaxNewTokens;
            string reason = atWindow ? $"the model's window: prompt {promptIds.Count} + {n} new tokens = max_position_embeddings {window}" : result.Reason.Name();
            string decodeRate = n > 1 ? $", decoding {(n - 1) / (seconds - firstToken!.Value):F1} tokens/s" : "";
            Console.Error.WriteLine($"[{n} tokens in {seconds:F2} s: {n / seconds:F1} tokens/s overall{decodeRate}; " +
                $"prompt {promptIds.Count} tokens; stop: {reason}]");
        }));
        return command;
    }

    static Command PerplexityCommand()
    {
        var model = ModelOption();
        var file = new Option<FileInfo?>("--file") { Description = "text file to score (needs the folder's tokenizer.json)" };
        var tokens = new Option<string?>("--tokens") { Description = "token ids to score, comma-separated: 1,2,3" };
        var window = new Option<int?>("--window") { Description = "tokens per window (default: max_position_embeddings)" };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var noBos = NoBosOption();
        var dtype = DtypeOption.ForModel(null);
        var threads = CpuThreads.Option();
        var command = new Command("perplexity", "Log-probability of every token under the model, and the perplexity")
        { model, file, tokens, window, json, noBos, dtype.Option, threads };
        command.SetAction(parse => Run("pic perplexity", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            var computeDtype = dtype.Value(parse);
            var textFile = parse.GetValue(file);
            string? tokenList = parse.GetValue(tokens);
            if ((textFile is null) == (tokenList is null)) throw new InvalidInputException("give exactly one of --file or --tokens");
            var dir = parse.GetValue(model)!;
            LoadedModel.RequireFolder(dir.FullName);
            var tokenizer = LoadedModel.TokenizerIn(dir.FullName);
            using var llm = ModelFolder.Load(dir.FullName, computeDtype);

            IReadOnlyList<int> ids;
            if (textFile is not null)
            {
                if (tokenizer is null) throw new FileNotFoundException($"{dir.FullName} has no {ModelFolder.TokenizerFile}: --file needs it to tokenize; use --tokens instead");
                string content = Utf8File.ReadAllText(RequireFile(textFile, "text").FullName);
                if (content.Length == 0) throw new InvalidInputException($"{textFile.FullName} is empty");
                ids = PromptIds(content, llm.Config, tokenizer, parse.GetValue(noBos));
            }
            else ids = ParseTokenIds(tokenList!);

            var result = Perplexity.Evaluate(llm, ids, parse.GetValue(window));
            string? Piece(int id) => tokenizer?.Token(id) is null ? null : tokenizer.Decode([id]); // padded vocab: no text
            string dtypeName = ModelFolder.TorchDtypeName(llm.Dtype);
            if (parse.GetValue(json)) PrintJson(result, Piece, dtypeName);
            else PrintTable(result, Piece, dtypeName);
        }));
        return command;
    }

    static void PrintTable(PerplexityResult result, Func<int, string?> piece, string dtype)
    {
        var table = new Table().AddColumns("position", "id", "token", "log p");
        foreach (var t in result.Tokens)
            table.AddRow($"{t.Position}", $"{t.TokenId}", Markup.Escape(JsonSerializer.Serialize(piece(t.TokenId) ?? "")), $"{t.LogProbability:F4}");
        AnsiConsole.Write(table);
        Console.WriteLine($"perplexity {result.Perplexity:F4} over {result.Tokens.Count} predicted tokens " +
            $"(mean log p {result.MeanLogProbability:F4}, window {result.WindowLength}, {dtype})");
    }

    static void PrintJson(PerplexityResult result, Func<int, string?> piece, string dtype)
    {
        var report = new
        {
            perplexity = result.Perplexity,
            dtype,
            mean_log_probability = result.MeanLogProbability,
            predicted_tokens = result.Tokens.Count,
            window = result.WindowLength,
            tokens = result.Tokens.Select(t => new { position = t.Position, id = t.TokenId, text = piece(t.TokenId), log_probability = t.LogProbability }),
        };
        Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
    }

    static Option<DirectoryInfo> ModelOption() => new("--model") { Description = "model folder", Required = true };

    static Option<bool> NoBosOption() => new("--no-bos") { Description = "do not start the text with the model's BOS token" };

    /// <summary>The text's ids, after the model's BOS token (the config's, else the tokenizer's) unless --no-bos.</summary>
    static IReadOnlyList<int> PromptIds(string text, LlamaConfig config, TextTokenizer tokenizer, bool noBos) =>
        noBos ? tokenizer.EncodeText(text) : tokenizer.EncodeWithBos(text, config.BosTokenId);

    static IReadOnlyList<int> ParseTokenIds(string list)
    {
        var items = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0) throw new InvalidInputException("--tokens is empty: there are no tokens to score");
        return items.Select((item, i) => int.TryParse(item, out int id) ? id
            : throw new InvalidInputException($"--tokens item {i + 1} ('{item}') is not an integer token id")).ToList();
    }

    static FileInfo RequireFile(FileInfo file, string what) =>
        file.Exists ? file : throw new FileNotFoundException($"{what} file {file.FullName} does not exist", file.FullName);

    static int Run(string command, Action body) => CommandErrors.Run(command, () =>
    {
        body();
        return 0;
    });
}
