using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PicSharp.Cli.Benchmarks;
using PicSharp.Modeling;
using PicSharp.Storage;
using Spectre.Console;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>`pic bench forward` and `pic bench compress`: throughput of the reference model on this machine (and the serving benches).</summary>
public static class BenchCommands
{
    static readonly ScalarType[] Dtypes = [ScalarType.Float32, ScalarType.BFloat16];

    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput of the reference model (~32M parameters, random weights)");
        bench.Subcommands.Add(Forward());
        bench.Subcommands.Add(Compress());
        foreach (var command in MemoryBenchCommands.Create()) bench.Subcommands.Add(command);
        foreach (var command in LatencyBenchCommands.Create()) bench.Subcommands.Add(command);
        foreach (var command in ServeBenchCommands.Create()) bench.Subcommands.Add(command);
        return bench;
    }

    internal static Option<bool> QuickOption() => new("--quick") { Description = "fewer, smaller runs: checks that everything works, numbers are rough" };
    internal static Option<FileInfo?> JsonOption() => new("--json") { Description = "also write the results to this JSON file" };

    static Command Forward()
    {
        var threads = CpuThreads.Option();
        var quick = QuickOption();
        var json = JsonOption();
        var model = new Option<string?>("--model") { Description = "model folder to measure (default: the reference config with random weights)" };
        var answering = new AnswerEngineOption();
        var command = new Command("forward",
            "Prompt processing (512 tokens), KV-cache decoding (128 tokens, batch 1), training forward+backward (sequence 512), " +
            "float32 and bfloat16; matmul GFLOP/s; model-FLOP utilisation. --engine llamacpp: prompt and decoding on llama.cpp (the model's GGUF export), no training")
        { threads, quick, json, model, answering.Engine };
        command.SetAction(parse => CommandErrors.Run("pic bench forward", () =>
        {
            int threadCount = CpuThreads.Set(parse.GetValue(threads));
            RequireJsonOutput(parse.GetValue(json));
            string? folder = parse.GetValue(model) is { } given ? EngineOptions.FullPath(given) : null;
            if (folder is not null) LoadedModel.RequireFolder(folder);
            bool isQuick = parse.GetValue(quick);
            bool llama = answering.IsLlamaCpp(parse);
            var plan = isQuick ? new RunPlan(Warmup: 1, Runs: 1, BudgetSeconds: 0) : new RunPlan(Warmup: 1, Runs: 5, BudgetSeconds: 60);
            var options = new ForwardBenchmarkOptions(PromptLength: 512, DecodeTokens: 128, TrainBatch: isQuick ? 1 : 4, TrainLength: 512, plan);
            var machine = MachineDescription.Current();
            PrintMachine(machine, isQuick);
            if (folder is not null) AnsiConsole.MarkupLineInterpolated($"measured model: {folder}");

            // llama.cpp runs a GGUF export of a model folder: the reference model gets one in a scratch folder.
            string? scratch = llama && folder is null ? Directory.CreateTempSubdirectory("pic-bench-forward-").FullName : null;
            try
            {
                string? llamaFolder = scratch is null ? folder : BenchmarkModels.SaveReference(scratch);
                var peaks = new Dictionary<string, double>();
                var results = new List<WorkloadResult>();
                foreach (var dtype in Dtypes)
                {
                    string name = ModelFolder.TorchDtypeName(dtype);
                    peaks[name] = MatmulPeak.GigaFlopsPerSecond(dtype, 2048, isQuick ? plan : plan with { Runs = 10 });
                    AnsiConsole.MarkupLine($"[grey]matmul 2048x2048 {name}: {peaks[name]:F1} GFLOP/s[/]");
                    using var measured = folder is null ? BenchmarkModels.Create(dtype) : ModelFolder.Load(folder, dtype);
                    using var engine = llama
                        ? AnswerEngineOption.OpenForBenchmark(llamaFolder!, measured, null, threadCount, options.PromptLength + options.DecodeTokens + 1)
                        : null;
                    foreach (var result in ForwardBenchmark.Run(measured, peaks[name], options, engine))
                    {
                        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(result.Workload)} {name}: {result.TokensPerSecond:F1} tokens/s, {1000 / result.TokensPerSecond:F2} ms/token[/]");
                        results.Add(result);
                    }
                }
                AnsiConsole.Write(ForwardTable(peaks, results));
                WriteJson(parse.GetValue(json), new
                {
                    machine, quick = isQuick, engine = parse.GetValue(answering.Engine), model = folder ?? "reference",
                    config = folder is null ? ReferenceConfigJson() : JsonNode.Parse(LlamaConfig.Load(Path.Combine(folder, ModelFolder.ConfigFile)).ToJson()),
                    options, matmulPeakGigaFlops = peaks, results,
                });
            }
            finally
            {
                if (scratch is not null) Directory.Delete(scratch, recursive: true);
            }
            return 0;
        }));
        return command;
    }

    static Table ForwardTable(Dictionary<string, double> peaks, IReadOnlyList<WorkloadResult> results)
    {
        var table = new Table().AddColumns("workload", "dtype", "tokens/s", "ms/token", "median s", "runs", "GFLOP/s", "MFU");
        foreach (var (dtype, peak) in peaks)
            table.AddRow("matmul 2048x2048", dtype, "", "", "", "", $"{peak:F1}", "(peak)");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Workload), r.Dtype, $"{r.TokensPerSecond:F1}", $"{1000 / r.TokensPerSecond:F2}", $"{r.Timing.Median:F3}", $"{r.Timing.Seconds.Count}",
                $"{r.GigaFlopsPerSecond:F1}", $"{r.Utilisation:P1}");
        return table;
    }

    static Command Compress()
    {
        var threads = CpuThreads.Option();
        var quick = QuickOption();
        var json = JsonOption();
        var lengths = new Option<int[]>("--lengths")
        {
            Description = "context lengths in tokens (default 512 2048 8192; with --quick 512 2048)",
            AllowMultipleArgumentsPerToken = true,
        };
        var memoryBudget = new Option<double?>("--memory-budget-gb")
        {
            Description = "skip combinations whose attention would need more (default: 60% of available memory)",
        };
        var command = new Command("compress",
            "Context tokens/s of the compressor (ratio 4, chunk 512): global mask, global causal row, pic mask, pic fast path; float32 and bfloat16")
        { threads, quick, lengths, memoryBudget, json };
        command.SetAction(parse => CommandErrors.Run("pic bench compress", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            RequireJsonOutput(parse.GetValue(json));
            bool isQuick = parse.GetValue(quick);
            int[] contextLengths = parse.GetValue(lengths) is { Length: > 0 } given ? given : isQuick ? [512, 2048] : [512, 2048, 8192];
            if (contextLengths.Any(l => l <= 0)) throw new InvalidInputException("--lengths must be positive token counts");
            long budget = parse.GetValue(memoryBudget) is double gb
                ? (long)(gb * 1e9)
                : (long)(0.6 * (MachineDescription.AvailableMemoryBytes() ?? 8_000_000_000));
            var plan = isQuick ? new RunPlan(Warmup: 1, Runs: 1, BudgetSeconds: 0) : new RunPlan(Warmup: 1, Runs: 3, BudgetSeconds: 20);
            var machine = MachineDescription.Current();
            PrintMachine(machine, isQuick);
            var compressor = CompressBenchmark.Options(CompressionPath.All[0]);
            AnsiConsole.MarkupLine($"[grey]compressor: ratio {compressor.Ratio}, chunk length {compressor.ChunkLength} ({compressor.MemorySlots} memory tokens per chunk), " +
                $"LoRA rank {compressor.Lora.Rank} on all projections, batch 1, no gradients; attention budget {budget / 1e9:F1} GB[/]");

            var results = new List<CompressResult>();
            foreach (var dtype in Dtypes)
                foreach (var path in CompressionPath.All)
                    foreach (var result in CompressBenchmark.Run(path, dtype, contextLengths.Order().ToArray(), plan, budget))
                    {
                        AnsiConsole.MarkupLine(result.Timing is null
                            ? $"[yellow]skipped {path.Name} {result.Dtype} {result.ContextLength}: {Markup.Escape(result.SkipReason!)}[/]"
                            : $"[grey]{path.Name} {result.Dtype} {result.ContextLength}: {result.TokensPerSecond:F0} tokens/s[/]");
                        results.Add(result);
                    }
            AnsiConsole.Write(CompressTable(results));
            AnsiConsole.Write(ScalingTable(results));
            WriteJson(parse.GetValue(json), new { machine, quick = isQuick, config = ReferenceConfigJson(), compressor = new { ratio = compressor.Ratio, chunk_length = compressor.ChunkLength, lora_rank = compressor.Lora.Rank, batch = 1 }, results });
            return 0;
        }));
        return command;
    }

    static Table CompressTable(IReadOnlyList<CompressResult> results)
    {
        var table = new Table().AddColumns("path", "dtype", "context tokens", "tokens/s", "median s", "runs");
        foreach (var r in results)
            table.AddRow(r.Path.Name, r.Dtype, $"{r.ContextLength}",
                r.TokensPerSecond is double t ? $"{t:F0}" : "skipped", r.Timing is null ? "" : $"{r.Timing.Median:F3}",
                r.Timing is null ? "" : $"{r.Timing.Seconds.Count}");
        return table;
    }

    /// <summary>Linear paths have exponent ≈ 1 (time(2L)/time(L) ≈ 2); quadratic attention pushes it towards 2 (ratio 4).</summary>
    static Table ScalingTable(IReadOnlyList<CompressResult> results)
    {
        var table = new Table().AddColumns("path", "dtype", "lengths", "time exponent", "time(2L)/time(L)");
        foreach (var group in results.GroupBy(r => (r.Path.Name, r.Dtype)))
            foreach (var (from, to, exponent, doubling) in CompressBenchmark.Scaling(group.ToList()))
                table.AddRow(group.Key.Name, group.Key.Dtype, $"{from} → {to}", $"{exponent:F2}", $"{doubling:F2}");
        return table;
    }

    static JsonNode ReferenceConfigJson() => JsonNode.Parse(BenchmarkModels.Reference.ToJson())!;

    internal static void PrintMachine(MachineDescription machine, bool quick)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(machine.Cpu)}[/], {machine.LogicalCores} logical cores, {machine.TorchThreads} torch threads, " +
            $"{Markup.Escape(machine.Runtime)}, TorchSharp {Markup.Escape(machine.TorchSharp)}, {machine.Date}{(quick ? " [yellow](quick: rough numbers)[/]" : "")}");
        AnsiConsole.MarkupLine($"CPU threads' wait: {Markup.Escape(machine.ThreadWait)}");
        var c = BenchmarkModels.Reference;
        long parameters;
        using (var model = BenchmarkModels.Create(ScalarType.Float32)) parameters = BenchmarkModels.ParameterCount(model);
        AnsiConsole.MarkupLine($"reference model: {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads / {c.NumKeyValueHeads} KV heads, " +
            $"intermediate {c.IntermediateSize}, vocab {c.VocabSize}, untied, {parameters / 1e6:F1}M parameters, random weights");
    }

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Checked before the runs: a minute of measuring must not end in "cannot write".</summary>
    internal static void RequireJsonOutput(FileInfo? file)
    {
        if (file is not null) OutputPath.RequireFile(file.FullName);
    }

    internal static void WriteJson(FileInfo? file, object report)
    {
        if (file is null) return;
        AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(report, JsonOptions));
        AnsiConsole.MarkupLine($"[grey]wrote {Markup.Escape(file.FullName)}[/]");
    }
}
