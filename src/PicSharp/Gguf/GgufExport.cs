using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Gguf;

/// <summary>What an export wrote.</summary>
/// <param name="KeptAsF16">matrices that q8_0 could not take (rows not whole 32-value blocks), written as F16 instead.</param>
public sealed record GgufExportResult(string Path, string Architecture, GgmlType WeightType, int TensorCount, long Bytes, IReadOnlyList<string> KeptAsF16);

/// <summary>
/// A Hugging Face model folder (config.json, safetensors, tokenizer.json) to one GGUF file that llama.cpp loads and
/// runs to the same logits (fp32: within float rounding): architecture keys, the byte-level BPE vocabulary, weights in
/// the requested type. Tensors are read, converted and written one at a time, so memory stays near the largest tensor.
/// </summary>
public static class GgufExport
{
    /// <summary>The weight types `--type` accepts, as llama.cpp's converter names them.</summary>
    public static readonly IReadOnlyDictionary<string, GgmlType> WeightTypes = new Dictionary<string, GgmlType>
    {
        ["f32"] = GgmlType.F32, ["f16"] = GgmlType.F16, ["bf16"] = GgmlType.BF16, ["q8_0"] = GgmlType.Q8_0,
    };

    /// <summary>The metadata key that names the model folder an export was made from (<see cref="SourceFingerprint"/>):
    /// how a cached or given GGUF is known to hold the weights of the model it is asked to stand in for.</summary>
    public const string SourceKey = "picsharp.source";

    /// <summary>
    /// A short id of a model folder's content: hex SHA-256 over its config.json, tokenizer.json and weight files. The
    /// export of the same folder carries the same id whatever its weight type; any change to those files changes it.
    /// </summary>
    public static string SourceFingerprint(string modelDir)
    {
        var files = ModelFolder.WeightFiles(modelDir).Prepend(Path.Combine(modelDir, ModelFolder.TokenizerFile)).Prepend(Path.Combine(modelDir, ModelFolder.ConfigFile));
        string description = string.Join("\n", files.Select(f => $"{Path.GetFileName(f)}:{FileSha256.Hex(f)}"));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(description)))[..16];
    }

    /// <summary>The `--type` name of a weight type (f32, f16, bf16, q8_0).</summary>
    public static string WeightTypeName(GgmlType type) => WeightTypes.First(p => p.Value == type).Key;

    public static GgmlType ParseWeightType(string name) => WeightTypes.TryGetValue(name, out var type)
        ? type
        : throw new InvalidInputException($"--type '{name}' is not supported; supported: {string.Join(", ", WeightTypes.Keys)}");

    // llama_ftype (llama.h): what general.file_type says about the weights.
    static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0, GgmlType.F16 => 1, GgmlType.Q8_0 => 7, GgmlType.BF16 => 32,
        _ => throw new ArgumentException($"no file type for {type}"),
    };

    public static GgufExportResult Export(string modelDir, string outPath, GgmlType weightType)
    {
        if (!GgmlEncoding.CanEncode(weightType)) throw new ArgumentException($"weights cannot be written as {weightType}; supported: f32, f16, bf16, q8_0");
        string configPath = Path.Combine(modelDir, ModelFolder.ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{modelDir} has no {ModelFolder.ConfigFile}: not a model folder", configPath);
        var config = LlamaConfig.Load(configPath);
        GgufTensorLayout.RequireSupported(config);
        string tokenizerPath = Path.Combine(modelDir, ModelFolder.TokenizerFile);
        if (!File.Exists(tokenizerPath))
            throw new FileNotFoundException($"{modelDir} has no {ModelFolder.TokenizerFile}: a GGUF carries the vocabulary llama.cpp tokenises with", tokenizerPath);
        var tokenizer = TextTokenizer.Load(tokenizerPath);
        var weightFiles = ModelFolder.WeightFiles(modelDir);
        string fullOut = Path.GetFullPath(outPath);
        if (weightFiles.Append(configPath).Append(tokenizerPath).Any(input => Path.GetFullPath(input) == fullOut))
            throw new IOException($"--out {fullOut} is one of the model's own files; write the GGUF elsewhere");

        var writer = new GgufWriter();
        string arch = GgufTensorLayout.Architecture(config.ModelType);
        foreach (var (key, value) in ModelMetadata(config, arch, Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar)), weightType))
            writer.Add(key, value);
        foreach (var (key, value) in GgufVocabulary.Metadata(tokenizer, config))
            writer.Add(key, value);
        writer.Add(SourceKey, GgufValue.Of(SourceFingerprint(modelDir)));

        var readers = weightFiles.Select(f => new SafeTensorsReader(f)).ToList();
        try
        {
            var located = readers.SelectMany(r => r.Names.Select(n => (Name: n, Reader: r))).ToDictionary(p => p.Name, p => p.Reader);
            var layout = GgufTensorLayout.For(config);
            CheckTensors(modelDir, config, layout, located);
            var keptAsF16 = new List<string>();
            foreach (var entry in layout)
            {
                var type = !entry.IsMatrix ? GgmlType.F32
                    : weightType == GgmlType.Q8_0 && entry.GgufDims[0] % GgmlEncoding.Q8BlockSize != 0 ? GgmlType.F16
                    : weightType;
                if (entry.IsMatrix && type != weightType) keptAsF16.Add(entry.GgufName);
                writer.AddTensor(entry.GgufName, entry.GgufDims, type, stream =>
                {
                    if (entry.HfName is null) Write(stream, GgufTensorLayout.RopeFactorValues(config), type);
                    else WriteTensor(stream, located[entry.HfName], entry, type);
                });
            }
            writer.Write(fullOut);
            return new GgufExportResult(fullOut, arch, weightType, layout.Count, new FileInfo(fullOut).Length, keptAsF16);
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    static List<KeyValuePair<string, GgufValue>> ModelMetadata(LlamaConfig config, string arch, string name, GgmlType weightType)
    {
        // A Mistral sliding window is not applied by llama.cpp's llama architecture; our model refuses sequences past
        // it, so the GGUF declares the window as its context.
        int context = config.SlidingWindow is int window ? Math.Min(window, config.MaxPositionEmbeddings) : config.MaxPositionEmbeddings;
        KeyValuePair<string, GgufValue> Key(string key, GgufValue value) => new($"{arch}.{key}", value);
        return
        [
            new("general.architecture", GgufValue.Of(arch)),
            new("general.name", GgufValue.Of(name)),
            new("general.file_type", GgufValue.Of(FileType(weightType))),
            new("general.quantization_version", GgufValue.Of(2u)),
            Key("vocab_size", GgufValue.Of((uint)config.VocabSize)),
            Key("context_length", GgufValue.Of((uint)context)),
            Key("embedding_length", GgufValue.Of((uint)config.HiddenSize)),
            Key("block_count", GgufValue.Of((uint)config.NumHiddenLayers)),
            Key("feed_forward_length", GgufValue.Of((uint)config.IntermediateSize)),
            Key("attention.head_count", GgufValue.Of((uint)config.NumAttentionHeads)),
            Key("attention.head_count_kv", GgufValue.Of((uint)config.NumKeyValueHeads)),
            Key("attention.key_length", GgufValue.Of((uint)config.HeadDim)),
            Key("attention.value_length", GgufValue.Of((uint)config.HeadDim)),
            Key("attention.layer_norm_rms_epsilon", GgufValue.Of((float)config.RmsNormEps)),
            Key("rope.freq_base", GgufValue.Of((float)config.RopeTheta)),
            Key("rope.dimension_count", GgufValue.Of((uint)config.HeadDim)),
        ];
    }

    // One error listing every missing, unexpected and wrongly shaped tensor (a tied checkpoint may carry lm_head).
    static void CheckTensors(string dir, LlamaConfig config, IReadOnlyList<GgufTensorEntry> layout, Dictionary<string, SafeTensorsReader> located)
    {
        var expected = layout.Where(e => e.HfName is not null).ToDictionary(e => e.HfName!, e => e.HfShape);
        var stored = located.Where(p => !(config.TieWordEmbeddings && p.Key == "lm_head.weight"))
            .ToDictionary(p => p.Key, p => p.Value.Entry(p.Key).Shape);
        if (TensorShapes.Mismatch(expected, stored) is string problems)
            throw new SafeTensorsException($"{dir}: the checkpoint does not match the config's architecture; {problems}");
    }

    static void WriteTensor(Stream stream, SafeTensorsReader reader, GgufTensorEntry entry, GgmlType type)
    {
        using var scope = NewDisposeScope();
        var values = reader.Read(entry.HfName!).to(ScalarType.Float32);
        if (entry.PermuteHeads is int heads) values = PermuteForPairRope(values, heads);
        if (!float.IsFinite(values.sum().item<float>()))
            throw new SafeTensorsException($"{reader.Path}: tensor '{entry.HfName}' holds NaN or infinite values");
        // Row-major torch [out, in] is ggml's ne = [in, out]: the bytes are the same, in blocks of whole rows.
        var flat = values.contiguous().view(-1);
        long rowLength = entry.HfShape[^1], rowsPerChunk = Math.Max(1, (1 << 20) / rowLength);
        for (long start = 0; start < flat.shape[0]; start += rowsPerChunk * rowLength)
        {
            using var chunk = flat.narrow(0, start, Math.Min(rowsPerChunk * rowLength, flat.shape[0] - start));
            Write(stream, chunk.data<float>().ToArray(), type);
        }
    }

    static void Write(Stream stream, float[] values, GgmlType type) => stream.Write(GgmlEncoding.Encode(type, values));

    /// <summary>
    /// llama.cpp's converter permutation for llama/mistral q and k (weights or biases): within each head, HF's rotate-half
    /// pairs (j, j + d/2) become adjacent rows (2j, 2j + 1), which llama.cpp's RoPE rotates together.
    /// </summary>
    public static Tensor PermuteForPairRope(Tensor rows, int heads)
    {
        long[] shape = rows.shape;
        long[] split = [heads, 2, shape[0] / heads / 2, .. shape.Skip(1)];
        return rows.reshape(split).transpose(1, 2).reshape(shape);
    }
}
