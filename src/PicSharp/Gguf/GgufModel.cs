using PicSharp.Modeling;
using PicSharp.Storage;

namespace PicSharp.Gguf;

/// <summary>
/// A GGUF file read as a Llama-family model: its hyperparameters, vocabulary size and tensors, checked against what
/// llama.cpp will build from them, so a file that would fail (or abort) inside llama.cpp is refused here with a
/// message instead. <see cref="RequireMatches"/> also checks that it is the export of a given model.
/// </summary>
public sealed class GgufModel
{
    public GgufFile File { get; }
    public string Architecture { get; }
    /// <summary>The model as a config (read from the GGUF's keys and tensors), when the architecture is one PicSharp
    /// exports. Llama 3.1 RoPE scaling is not recovered (the file holds its factors, not its parameters).</summary>
    public LlamaConfig? Config { get; }
    public int? VocabSize { get; }

    // Why Config is null (unsupported architecture, or keys that do not make a model).
    readonly string? configProblem;

    GgufModel(GgufFile file, string architecture, LlamaConfig? config, int? vocabSize, string? configProblem)
    {
        (File, Architecture, Config, VocabSize, this.configProblem) = (file, architecture, config, vocabSize, configProblem);
    }

    public static readonly string[] Architectures = ["llama", "qwen2", "qwen3"];

    /// <summary>Reads the header (a malformed file is refused here); whether it is a loadable model is <see cref="RequireLoadable"/>'s question.</summary>
    public static GgufModel Read(string path)
    {
        var file = GgufFile.Read(path);
        string arch = file.Find("general.architecture") is { Type: GgufValueType.String } a ? (string)a.Value
            : throw new GgufFormatException($"{path}: no general.architecture string (not a model GGUF?)");
        int? vocab = file.Find("tokenizer.ggml.tokens") is { IsArray: true, ElementType: GgufValueType.String } tokens ? tokens.Count : null;
        if (!Architectures.Contains(arch))
            return new GgufModel(file, arch, null, vocab, $"{path}: architecture '{arch}' is not supported here; supported: {string.Join(", ", Architectures)}");
        try { return new GgufModel(file, arch, ConfigFromKeys(file, arch, vocab), vocab, null); }
        catch (GgufFormatException e) { return new GgufModel(file, arch, null, vocab, e.Message); }
    }

    /// <summary>Fails unless llama.cpp can load the file as one of PicSharp's architectures (keys, vocabulary and tensors agree).</summary>
    public LlamaConfig RequireLoadable()
    {
        var config = Config ?? throw new GgufFormatException(configProblem!);
        Require(config, ropeFactorsAllowed: true);
        return config;
    }

    /// <summary>Fails unless the file holds exactly the tensors and hyperparameters of <paramref name="config"/>.</summary>
    public void RequireMatches(LlamaConfig config) => Require(config, ropeFactorsAllowed: false);

    /// <param name="ropeFactorsAllowed">a config read from the file cannot say whether it has RoPE factors (Llama 3.1
    /// scaling); the file's own rope_freqs tensor is then expected if present.</param>
    void Require(LlamaConfig config, bool ropeFactorsAllowed)
    {
        string expectedArch = GgufTensorLayout.Architecture(config.ModelType);
        if (Architecture != expectedArch)
            throw new GgufFormatException($"{File.Path}: architecture '{Architecture}', the model is '{expectedArch}' ({config.ModelType})");
        var problems = new List<string>();
        void Compare(string key, double expected)
        {
            if (File.Find($"{Architecture}.{key}") is not { } value) problems.Add($"{Architecture}.{key} missing");
            else if (!value.IsArray && (value.Type is GgufValueType.Float32 or GgufValueType.Float64 ? Math.Abs(value.AsReal() - expected) > 1e-6 * Math.Abs(expected) : value.AsInteger() != expected))
                problems.Add($"{Architecture}.{key} is {value}, the model's is {expected}");
        }
        Compare("embedding_length", config.HiddenSize);
        Compare("block_count", config.NumHiddenLayers);
        Compare("feed_forward_length", config.IntermediateSize);
        Compare("attention.head_count", config.NumAttentionHeads);
        Compare("attention.head_count_kv", config.NumKeyValueHeads);
        Compare("attention.layer_norm_rms_epsilon", config.RmsNormEps);
        Compare("rope.freq_base", config.RopeTheta);
        if (VocabSize != config.VocabSize) problems.Add($"the vocabulary has {VocabSize?.ToString() ?? "no"} tokens, the model {config.VocabSize}");
        problems.AddRange(VocabularyProblems());

        var expected = GgufTensorLayout.For(config).ToDictionary(e => e.GgufName, e => e.GgufDims);
        if (ropeFactorsAllowed && File.FindTensor(GgufTensorLayout.RopeFactors) is not null)
            expected[GgufTensorLayout.RopeFactors] = [config.HeadDim / 2];
        var stored = File.Tensors.ToDictionary(t => t.Name, t => t.Dims);
        if (TensorShapes.Mismatch(expected, stored) is string tensors) problems.Add($"tensors {tensors}");
        if (problems.Count > 0)
            throw new GgufFormatException($"{File.Path} does not match the model: {string.Join("; ", problems)}");
    }

    // What llama.cpp's vocabulary loader needs of the tokenizer.ggml.* keys.
    IEnumerable<string> VocabularyProblems()
    {
        if (File.Find("tokenizer.ggml.model") is not { Type: GgufValueType.String } model)
        {
            yield return "tokenizer.ggml.model is missing";
            yield break;
        }
        if ((string)model.Value == "gpt2" && File.Find("tokenizer.ggml.merges") is not { IsArray: true, ElementType: GgufValueType.String })
            yield return "a gpt2 tokenizer needs tokenizer.ggml.merges (a string array)";
        if (File.Find("tokenizer.ggml.token_type") is { } types && (types.ElementType != GgufValueType.Int32 || types.Count != VocabSize))
            yield return $"tokenizer.ggml.token_type must be {VocabSize} int32 values (found {types})";
        foreach (string special in new[] { "bos", "eos", "padding" })
            if (File.Find($"tokenizer.ggml.{special}_token_id") is { } id && (id.IsArray || id.Type is GgufValueType.Float32 or GgufValueType.Float64
                || id.Type == GgufValueType.String || id.AsInteger() < 0 || id.AsInteger() >= VocabSize))
                yield return $"tokenizer.ggml.{special}_token_id {id} is not a token id below {VocabSize}";
    }

    static LlamaConfig ConfigFromKeys(GgufFile file, string arch, int? vocab)
    {
        long Integer(string key, long? fallback = null)
        {
            var value = file.Find($"{arch}.{key}");
            if (value is null) return fallback ?? throw new GgufFormatException($"{file.Path}: {arch}.{key} is missing");
            try { return value.AsInteger(); }
            catch (InvalidCastException) { throw new GgufFormatException($"{file.Path}: {arch}.{key} must be an integer, found {value.Type}"); }
        }
        double Real(string key, double fallback)
        {
            var value = file.Find($"{arch}.{key}");
            if (value is null) return fallback;
            try { return value.AsReal(); }
            catch (InvalidCastException) { throw new GgufFormatException($"{file.Path}: {arch}.{key} must be a float, found {value.Type}"); }
        }
        int Int(long value, string key) => value is > 0 and <= int.MaxValue ? (int)value
            : throw new GgufFormatException($"{file.Path}: {arch}.{key} = {value} is out of range");

        int hidden = Int(Integer("embedding_length"), "embedding_length");
        int heads = Int(Integer("attention.head_count"), "attention.head_count");
        var config = new LlamaConfig
        {
            ModelType = arch,
            VocabSize = vocab ?? throw new GgufFormatException($"{file.Path}: no tokenizer.ggml.tokens string array (no vocabulary)"),
            HiddenSize = hidden,
            IntermediateSize = Int(Integer("feed_forward_length"), "feed_forward_length"),
            NumHiddenLayers = Int(Integer("block_count"), "block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int(Integer("attention.head_count_kv", heads), "attention.head_count_kv"),
            HeadDim = Int(Integer("attention.key_length", hidden / heads), "attention.key_length"),
            RmsNormEps = Real("attention.layer_norm_rms_epsilon", 1e-5),
            RopeTheta = Real("rope.freq_base", 10000),
            MaxPositionEmbeddings = Int(Integer("context_length"), "context_length"),
            TieWordEmbeddings = file.FindTensor("output.weight") is null,
            AttentionBias = arch == "llama" && file.FindTensor("blk.0.attn_q.bias") is not null,
        };
        try { config.Validate(); }
        catch (ModelConfigException e) { throw new GgufFormatException($"{file.Path}: {e.Message}"); }
        if (Integer("attention.value_length", config.HeadDim) != config.HeadDim)
            throw new GgufFormatException($"{file.Path}: {arch}.attention.value_length differs from key_length, which these architectures do not have");
        return config;
    }
}
