using System.CommandLine;
using PicSharp.Serving;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The options every compress-and-ask command shares (--model, --compressor, --dtype, --threads; the answering ones add --engine) and the one way they
/// open a <see cref="PicEngine"/>. Paths given are made absolute against the current folder; without --model the
/// bundled model is used (<see cref="BundledModels"/>), and without --compressor the bundled compressor whenever the
/// model is the bundled one, however its path is written.
/// </summary>
sealed class EngineOptions
{
    public Option<string?> Model { get; } = ModelOption("model folder (config.json, weights, tokenizer.json)");
    public Option<string?> Compressor { get; } = new("--compressor") { Description = $"compressor folder (from `pic train-compressor` or CompressorFolder.Save; default: the bundled {BundledModels.CompressorName} with the bundled model)" };
    public DtypeOption Dtype { get; } = DtypeOption.ForModel(null);
    public Option<int> Threads { get; } = CpuThreads.Option();

    public IEnumerable<Option> All => [Model, Compressor, Dtype.Option, Threads];

    /// <param name="answering">the command's --engine, when it answers questions (default: TorchSharp).</param>
    /// <param name="sequences">most questions answered together (`serve --max-batch`).</param>
    public PicEngine Open(ParseResult parse, int? maxContextTokens = null, AnswerEngineOption? answering = null, int sequences = 1)
    {
        int threads = CpuThreads.Set(parse.GetValue(Threads));
        string model = ModelFolder(parse.GetValue(Model));
        string compressor = CompressorOrBundled(parse.GetValue(Compressor), model)
            ?? throw new InvalidInputException($"no compressor: pass --compressor DIR (a folder written by `pic train-compressor` or CompressorFolder.Save); the bundled {BundledModels.CompressorName} serves only the bundled {BundledModels.ModelName}, not {model}");
        LoadedModel.RequireFolder(model);
        return PicEngine.Open(model, compressor, Dtype.Value(parse), maxContextTokens, answering?.Factory(parse, model, threads, sequences));
    }

    /// <summary>A --model option whose default is the bundled model.</summary>
    public static Option<string?> ModelOption(string description) =>
        new("--model") { Description = $"{description}; default: the bundled {BundledModels.ModelName} (`pic info` shows where)" };

    /// <summary>The given model folder as an absolute path, or the bundled model's (failing with where it looked).</summary>
    public static string ModelFolder(string? given) => given is null ? BundledModels.Locate().Model : FullPath(given);

    /// <summary>A folder path made absolute against the current folder, without a trailing separator, as messages show it.</summary>
    public static string FullPath(string folder) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));

    /// <summary>The given compressor folder as an absolute path; without one, the bundled compressor when
    /// <paramref name="model"/> is the bundled model and the compressor is there (it was trained against that model's
    /// weights); else null.</summary>
    public static string? CompressorOrBundled(string? given, string model)
    {
        if (given is not null) return FullPath(given);
        return BundledModels.Find() is { } bundled && bundled.IsDefaultModel(model) && Directory.Exists(bundled.Compressor) ? bundled.Compressor : null;
    }

    /// <summary>The folders <see cref="Open"/> loads, so a command can refuse to write into them before loading anything.</summary>
    public IEnumerable<(string What, string Folder)> LoadedFolders(ParseResult parse)
    {
        string model = ModelFolder(parse.GetValue(Model));
        yield return ("model", model);
        if (CompressorOrBundled(parse.GetValue(Compressor), model) is { } compressor) yield return ("compressor", compressor);
    }
}
