using System.CommandLine;
using System.Diagnostics;
using PicSharp.Cli.Benchmarks;
using PicSharp.Modeling;
using PicSharp.Storage;
using Spectre.Console;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>`pic bench memory` and `pic bench load`: what a long forward and a checkpoint load cost in resident memory.</summary>
public static class MemoryBenchCommands
{
    public static IEnumerable<Command> Create() => [ForwardMemory(), Load()];

    static Command ForwardMemory()
    {
        var threads = CpuThreads.Option();
        var tokens = new Option<int>("--tokens") { Description = "sequence length of the forward", DefaultValueFactory = _ => 4096 };
        var dtype = new DtypeOption("--dtype", "weights and compute (default: float32)", [ScalarType.Float32, ScalarType.BFloat16], ScalarType.Float32);
        var command = new Command("memory",
            "Peak resident memory of one no-grad forward (hidden states, batch 1) of the reference model, above what the loaded model holds")
        { threads, tokens, dtype.Option };
        command.SetAction(parse => CommandErrors.Run("pic bench memory", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            int length = parse.GetValue(tokens);
            if (length <= 0) throw new InvalidInputException("--tokens must be positive");
            var type = dtype.Value(parse)!.Value;
            using var model = BenchmarkModels.Create(type);
            model.eval();
            using var input = BenchmarkModels.RandomTokens(1, length);
            Forward(model, input[.., ..Math.Min(16, length)]); // first-call allocations and kernel set-up
            long before = ProcessMemory.ResidentBytes();
            ProcessMemory.ResetPeak();
            var clock = Stopwatch.StartNew();
            Forward(model, input);
            double seconds = clock.Elapsed.TotalSeconds;
            long peak = ProcessMemory.PeakResidentBytes();

            var table = new Table().HideHeaders().AddColumns("", "");
            table.AddRow("machine", Markup.Escape($"{MachineDescription.Current().Cpu}, {Environment.ProcessorCount} cores, {parse.GetValue(threads)} torch threads"));
            table.AddRow("model", $"reference ({BenchmarkModels.ParameterCount(model):N0} parameters, {ModelFolder.TorchDtypeName(type)}), {model.Config.NumHiddenLayers} layers");
            table.AddRow("forward", $"{length} tokens, no gradients, {seconds:F2} s");
            table.AddRow("RSS before the forward", Gb(before));
            table.AddRow("peak RSS during it", Gb(peak));
            table.AddRow("peak above the loaded model", Gb(peak - before));
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    static void Forward(LlamaForCausalLM model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.ForwardTokens(tokens);
    }

    static Command Load()
    {
        var threads = CpuThreads.Option();
        var model = new Option<DirectoryInfo>("--model") { Description = "model folder", Required = true };
        var dtype = DtypeOption.ForModel(null);
        var command = new Command("load", "Time and peak resident memory of loading a model folder, against the bytes of its weights")
        { threads, model, dtype.Option };
        command.SetAction(parse => CommandErrors.Run("pic bench load", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            string dir = parse.GetValue(model)!.FullName;
            LoadedModel.RequireFolder(dir);
            ScalarType? type = dtype.Value(parse);
            using (var warmUp = ones(1)) { } // loads libtorch, so its code pages count in the baseline
            long before = ProcessMemory.ResidentBytes();
            ProcessMemory.ResetPeak();
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            using var loaded = ModelFolder.Load(dir, type);
            double seconds = clock.Elapsed.TotalSeconds;
            double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            long peak = ProcessMemory.PeakResidentBytes();
            long weights = loaded.parameters().Sum(p => p.numel() * p.ElementSize);
            long files = ModelFolder.WeightFiles(dir).Sum(f => new FileInfo(f).Length);

            var table = new Table().HideHeaders().AddColumns("", "");
            table.AddRow("machine", Markup.Escape($"{MachineDescription.Current().Cpu}, {Environment.ProcessorCount} cores"));
            table.AddRow("model", Markup.Escape($"{dir}: {loaded.Config.ModelType}, {loaded.parameters().Sum(p => p.numel()):N0} parameters, " +
                $"{ModelFolder.TorchDtypeName(loaded.Dtype)}, {ModelFolder.WeightFiles(dir).Count} weight file(s) of {Gb(files)}"));
            table.AddRow("load time", $"{seconds:F2} s wall, {cpuSeconds:F2} s CPU (all threads)");
            table.AddRow("weights in memory", Gb(weights));
            table.AddRow("RSS before loading", Gb(before));
            table.AddRow("peak RSS (whole process)", $"{Gb(peak)} = {(double)peak / weights:F2} × the weights");
            table.AddRow("peak RSS above before", $"{Gb(peak - before)} = {(double)(peak - before) / weights:F2} × the weights");
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    static string Gb(long bytes) => $"{bytes / 1e9:F3} GB";
}
