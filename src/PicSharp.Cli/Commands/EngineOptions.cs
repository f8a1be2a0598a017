using System.CommandLine;
using PicSharp.Modeling;
using PicSharp.Serving;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The options every compress-and-ask command shares (--model, --compressor, --dtype, --threads) and the one way they
/// open a <see cref="PicEngine"/>. Without --compressor the bundled compressor is used once the repository has one.
/// </summary>
sealed class EngineOptions
{
    const string DefaultModel = "models/picsharp-small";
    const string BundledCompressor = "models/picsharp-small-compressor";

    public Option<string> Model { get; } = new("--model") { Description = "model folder (config.json, weights, tokenizer.json)", DefaultValueFactory = _ => DefaultModel };
    public Option<string?> Compressor { get; } = new("--compressor") { Description = $"compressor folder (from `pic train-compressor` or CompressorFolder.Save; default: {BundledCompressor} when it exists)" };
    public Option<string?> Dtype { get; } = new("--dtype") { Description = "float32 | bfloat16 (default: the model's torch_dtype)" };
    public Option<int> Threads { get; } = LoadedModel.AnswerThreadsOption();

    public EngineOptions() => Dtype.AcceptOnlyFromAmong("float32", "bfloat16");

    public IEnumerable<Option> All => [Model, Compressor, Dtype, Threads];

    public PicEngine Open(ParseResult parse, int? maxContextTokens = null)
    {
        TorchThreads.Set(parse.GetValue(Threads));
        string compressor = parse.GetValue(Compressor) ?? (Directory.Exists(BundledCompressor) ? BundledCompressor
            : throw new ArgumentException($"no compressor: pass --compressor DIR (a folder written by `pic train-compressor` or CompressorFolder.Save); there is no bundled compressor at {BundledCompressor} yet"));
        string model = parse.GetValue(Model)!;
        LoadedModel.RequireFolder(model);
        return PicEngine.Open(model, compressor, parse.GetValue(Dtype) is string dtype ? ModelFolder.ParseTorchDtype(dtype) : null, maxContextTokens);
    }
}
