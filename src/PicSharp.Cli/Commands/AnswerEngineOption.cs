using System.CommandLine;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using PicSharp.LlamaCpp;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `--engine torch|llamacpp` (and `--gguf`) of every command that answers questions: which engine decodes the
/// answers, behind the one <see cref="IAnswerer"/> the command calls either way. Compression always runs on
/// TorchSharp. llama.cpp runs the model's GGUF export, cached beside the model folder (written on first use) unless
/// --gguf names one.
/// </summary>
sealed class AnswerEngineOption
{
    public const string Torch = "torch", LlamaCpp = "llamacpp";

    public Option<string> Engine { get; } = CreateEngine();
    public Option<string?> Gguf { get; } = new("--gguf")
    {
        Description = "GGUF that --engine llamacpp runs: `pic export gguf` of the model folder (default: exported on first use beside the folder, as FOLDER.<type>.gguf, the type following --dtype)",
    };

    public IEnumerable<Option> All => [Engine, Gguf];

    static Option<string> CreateEngine()
    {
        var option = new Option<string>("--engine")
        {
            Description = $"what decodes the answers: {Torch} (TorchSharp) or {LlamaCpp} (llama.cpp on the model's GGUF export); compression always runs on TorchSharp",
            DefaultValueFactory = _ => Torch,
        };
        option.AcceptOnlyFromAmong(Torch, LlamaCpp);
        return option;
    }

    /// <summary>Which engine <paramref name="answerer"/> decodes on, as reports name it: "torch", or "llamacpp (F.gguf)".</summary>
    public static string Describe(IAnswerer answerer) => answerer is LlamaCppAnswerer llama ? $"{LlamaCpp} ({llama.GgufPath})" : Torch;

    /// <summary>Whether answers decode on llama.cpp.</summary>
    public bool IsLlamaCpp(ParseResult parse) => parse.GetValue(Engine) == LlamaCpp;

    /// <summary>
    /// The llama.cpp engine a benchmark decodes <paramref name="model"/> (loaded from <paramref name="modelDir"/>) with,
    /// on the export cached beside the folder: <paramref name="sequences"/> sequences of <paramref name="contextTokens"/>
    /// positions, the most the benchmark asks for.
    /// </summary>
    public static LlamaCppAnswerer OpenForBenchmark(string modelDir, LlamaForCausalLM model, Compressor? compressor, int threads, int contextTokens, int sequences = 1) =>
        LlamaCppAnswerer.Open(modelDir, null, model, TextTokenizer.Load(Path.Combine(modelDir, ModelFolder.TokenizerFile)), compressor,
            new LlamaCppOptions { Threads = threads, Sequences = sequences, ContextTokens = Math.Min(contextTokens, model.Config.MaxPositionEmbeddings) },
            onExport: path => Console.Error.WriteLine($"exporting {modelDir} for llama.cpp to {path}"));

    /// <summary>How the command makes its answerer for the model in <paramref name="modelDir"/>.</summary>
    /// <param name="threads">the --threads count (already set for torch).</param>
    /// <param name="sequences">most questions one call answers together (`serve --max-batch`).</param>
    public AnswererFactory Factory(ParseResult parse, string modelDir, int threads, int sequences = 1)
    {
        string? gguf = parse.GetValue(Gguf) is { } given ? Path.GetFullPath(given) : null;
        if (!IsLlamaCpp(parse))
            return gguf is null ? Answerers.Torch : throw new InvalidInputException($"--gguf is read by --engine {LlamaCpp} only; add --engine {LlamaCpp} or leave --gguf out");
        var options = new LlamaCppOptions { Threads = threads, Sequences = sequences };
        return (model, tokenizer, compressor) => LlamaCppAnswerer.Open(modelDir, gguf, model, tokenizer, compressor, options,
            onExport: path => Console.Error.WriteLine($"exporting {modelDir} for llama.cpp to {path} (first use; later runs reuse it)"));
    }
}
