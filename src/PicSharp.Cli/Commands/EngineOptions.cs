using System.CommandLine;
using PicSharp.Serving;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The options every compress-and-ask command shares (--model, --compressor, --dtype, --threads) and the one way they
/// open a <see cref="PicEngine"/>. Without --compressor the bundled compressor is used once the repository has one.
/// </summary>
sealed class EngineOptions
{
    public const string DefaultModel = "models/picsharp-base";
    /// <summary>The bundled compressor of the default model (16x, `pic`; models/picsharp-base-pic16/MODEL_CARD.md).</summary>
    public const string BundledCompressor = "models/picsharp-base-pic16";

    public Option<string> Model { get; } = new("--model") { Description = "model folder (config.json, weights, tokenizer.json)", DefaultValueFactory = _ => DefaultModel };
    public Option<string?> Compressor { get; } = new("--compressor") { Description = $"compressor folder (from `pic train-compressor` or CompressorFolder.Save; default: {BundledCompressor} with the default model, when it exists)" };
    public DtypeOption Dtype { get; } = DtypeOption.ForModel(null);
    public Option<int> Threads { get; } = TorchThreads.Option();

    public IEnumerable<Option> All => [Model, Compressor, Dtype.Option, Threads];

    public PicEngine Open(ParseResult parse, int? maxContextTokens = null)
    {
        TorchThreads.Set(parse.GetValue(Threads));
        string model = parse.GetValue(Model)!;
        string compressor = CompressorOrBundled(parse.GetValue(Compressor), model)
            ?? throw new InvalidInputException($"no compressor: pass --compressor DIR (a folder written by `pic train-compressor` or CompressorFolder.Save); the bundled {BundledCompressor} serves only {DefaultModel} and must exist");
        LoadedModel.RequireFolder(model);
        return PicEngine.Open(model, compressor, Dtype.Value(parse), maxContextTokens);
    }

    /// <summary>The given compressor folder; without one, the bundled compressor when the model is the default one and
    /// the folder exists (it was trained against that model's weights); else null.</summary>
    public static string? CompressorOrBundled(string? given, string model) =>
        given ?? (model == DefaultModel && Directory.Exists(BundledCompressor) ? BundledCompressor : null);
}
