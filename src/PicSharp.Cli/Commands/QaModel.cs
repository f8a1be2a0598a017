using System.CommandLine;
using PicSharp.IO;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>A model folder opened for answering questions: the LM and its tokenizer.json.</summary>
sealed record QaModel(string Directory, LlamaForCausalLM Model, TextTokenizer Tokenizer)
{
    // Greedy answers, one thread, 360-token prompt + 32 new tokens: 0.55 s in bf16 vs 0.7 s in fp32 on the 32M
    // reference config; equal (0.22 s) on picsharp-small's config, whose checkpoint is bf16 anyway.
    const string DefaultDtype = "bfloat16";

    public static Option<string> DtypeOption()
    {
        var dtype = new Option<string>("--dtype") { Description = "float32 | bfloat16", DefaultValueFactory = _ => DefaultDtype };
        dtype.AcceptOnlyFromAmong("float32", "bfloat16");
        return dtype;
    }

    // One token at a time is a chain of small matmuls: a second thread gains little when the machine is idle, and on a
    // busy 2-core machine the same 32-token answer took 0.6 s on one thread but 1.5-24 s on two.
    public static Option<int> ThreadsOption() =>
        new("--threads") { Description = "CPU threads for the model", DefaultValueFactory = _ => 1 };

    public static QaModel Load(string directory, string dtype, int threads)
    {
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}");
        set_num_threads(threads);
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"model folder {directory} not found (a folder with config.json, model.safetensors and tokenizer.json)");
        string tokenizerPath = Path.Combine(directory, ModelFolder.TokenizerFile);
        if (!File.Exists(tokenizerPath))
            throw new FileNotFoundException($"{directory}: no {ModelFolder.TokenizerFile}; evaluation needs the model's tokenizer in its folder", tokenizerPath);
        var tokenizer = TextTokenizer.Load(tokenizerPath);
        var model = ModelFolder.Load(directory, ModelFolder.ParseTorchDtype(dtype));
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ModelConfigException($"{directory}: tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        return new QaModel(directory, model, tokenizer);
    }

    public long ParameterCount => Model.parameters().Sum(p => p.numel());

    public string Describe() =>
        $"{Directory}: {ParameterCount / 1e6:F1}M parameters, {ModelFolder.TorchDtypeName(Model.Dtype)}, context {Model.Config.MaxPositionEmbeddings} positions";

    /// <summary>Problems with the user's files or arguments: reported as one line, not a stack trace.</summary>
    public static bool IsInputError(Exception e) => e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException
        or ArgumentException or ModelConfigException or TokenizerFormatException or SafeTensorsException;
}
