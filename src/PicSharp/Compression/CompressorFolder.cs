using PicSharp.Storage;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// A trained compressor on disk: the PEFT adapter files (readable by PEFT on their own) plus compressor.json (the
/// PIC options) and compressor.safetensors (memory-token and task-token embeddings), which a PEFT user can ignore.
/// A compressor whose decoder reads memory through its own adapter (a deviation from the paper's frozen decoder) also
/// has decoder/, a second PEFT adapter, named in compressor.json's "decoder_adapter"; without that field the decoder
/// is the frozen base model, as in every folder written before the deviation existed.
/// </summary>
public static class CompressorFolder
{
    public const string OptionsFile = "compressor.json";
    public const string EmbeddingsFile = "compressor.safetensors";
    /// <summary>The decoder adapter's subfolder (PEFT files, PEFT key names).</summary>
    public const string DecoderAdapterDir = "decoder";
    const string Format = "picsharp-compressor";

    public static void Save(Compressor compressor, string dir, string? baseModelNameOrPath = null)
    {
        PeftAdapter.Save(compressor.Options.Lora, compressor.AdapterParameters(), dir, baseModelNameOrPath);
        if (compressor.Options.DecoderLora is { } decoderLora)
        {
            string decoderDir = Path.Combine(dir, DecoderAdapterDir);
            Directory.CreateDirectory(decoderDir);
            PeftAdapter.Save(decoderLora, compressor.DecoderAdapterParameters(), decoderDir, baseModelNameOrPath);
        }
        SafeTensorsFile.Save(Path.Combine(dir, EmbeddingsFile), Embeddings(compressor));
        AtomicFile.WriteAllText(Path.Combine(dir, OptionsFile), OptionsJson(compressor.Options));
    }

    /// <summary>
    /// Rebuilds the compressor on <paramref name="baseModel"/> after checking every file against the model; its adapter
    /// is attached under its own name, so other compressors may share the model. The result is in eval mode.
    /// </summary>
    public static Compressor Load(LlamaForCausalLM baseModel, string dir)
    {
        var options = ReadOptions(dir);
        PeftAdapter.CheckWeights(baseModel, options.Lora, dir);
        if (options.DecoderLora is { } decoderLora) PeftAdapter.CheckWeights(baseModel, decoderLora, Path.Combine(dir, DecoderAdapterDir));
        string embeddingsPath = Path.Combine(dir, EmbeddingsFile);
        using (var reader = new SafeTensorsReader(embeddingsPath))
        {
            long hidden = baseModel.Config.HiddenSize;
            var expected = new Dictionary<string, long[]>
            {
                ["memory_tokens"] = [options.MemorySlots, hidden],
                ["task_tokens"] = [Enum.GetValues<TaskToken>().Length, hidden],
            };
            if (TensorShapes.Mismatch(expected, reader.Header.Tensors.ToDictionary(t => t.Name, t => t.Shape)) is string problems)
                throw new InvalidDataException($"{embeddingsPath}: the embeddings do not fit the model and options; {problems}");
        }

        var compressor = new Compressor(baseModel, options);
        PeftAdapter.LoadWeights(compressor.AdapterParameters(), dir);
        if (options.DecoderLora is not null) PeftAdapter.LoadWeights(compressor.DecoderAdapterParameters(), Path.Combine(dir, DecoderAdapterDir));
        var stored = SafeTensorsFile.Load(embeddingsPath);
        using (no_grad())
        {
            compressor.MemoryTokens.copy_(stored["memory_tokens"]);
            compressor.TaskTokens.copy_(stored["task_tokens"]);
        }
        foreach (var tensor in stored.Values) tensor.Dispose();
        compressor.eval();
        return compressor;
    }

    /// <summary>
    /// A short id for what the compressor computes: SHA-256 over its options and every trained tensor (LoRA, memory
    /// and task tokens, the decoder adapter when there is one), in hex. Equal compressors get equal ids on any machine;
    /// memory files record it. A compressor without a decoder adapter keeps the id it had before that option existed.
    /// </summary>
    public static string Fingerprint(Compressor compressor) =>
        Fingerprints.Of(OptionsJson(compressor.Options) + JsonSerializer.Serialize(compressor.Options.Lora)
                + (compressor.Options.DecoderLora is { } decoderLora ? JsonSerializer.Serialize(decoderLora) : ""),
            Embeddings(compressor).Select(p => (p.Key, p.Value))
                .Concat(compressor.AdapterParameters().Select(p => (p.Name, (Tensor)p.Parameter)))
                .Concat(compressor.DecoderAdapterParameters().Select(p => (Compressor.DecoderAdapterPrefix + p.Name, (Tensor)p.Parameter))));

    static Dictionary<string, Tensor> Embeddings(Compressor compressor) => new()
    {
        ["memory_tokens"] = compressor.MemoryTokens.detach(),
        ["task_tokens"] = compressor.TaskTokens.detach(),
    };

    static string OptionsJson(CompressorOptions options)
    {
        var json = new JsonObject
        {
            ["format"] = Format,
            ["version"] = 1,
            ["ratio"] = options.Ratio,
            ["chunk_length"] = options.ChunkLength,
            ["policy"] = options.Policy.Name(),
            ["placement"] = KebabCase.Name(options.Placement),
            ["positions"] = KebabCase.Name(options.Positions),
            ["kind"] = KebabCase.Name(options.Kind),
            ["fast_path"] = options.FastPath,
        };
        // Only when there is one, so a paper-style folder stays byte for byte what it was (and keeps its fingerprint).
        if (options.DecoderLora is not null)
            json["decoder_adapter"] = new JsonObject { ["path"] = DecoderAdapterDir, ["label"] = options.DecoderLabel };
        // Relaxed escaping keeps the label's apostrophe readable; the other fields are plain ASCII either way.
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The options of a compressor folder: compressor.json and the LoRA settings of adapter_config.json
    /// (and of decoder/adapter_config.json when compressor.json names a decoder adapter).</summary>
    public static CompressorOptions ReadOptions(string dir)
    {
        var (options, hasDecoderAdapter) = ReadCompressorJson(dir);
        return options with
        {
            Lora = PeftAdapter.ReadConfig(dir),
            DecoderLora = hasDecoderAdapter ? PeftAdapter.ReadConfig(Path.Combine(dir, DecoderAdapterDir)) : null,
        };
    }

    static (CompressorOptions Options, bool HasDecoderAdapter) ReadCompressorJson(string dir)
    {
        string path = Path.Combine(dir, OptionsFile);
        InvalidDataException Error(string message) => new($"{path}: {message}");
        var root = FolderJson.ReadObject(path);
        var reader = new FolderJson(root, Error);
        if (reader.String("format") != Format) throw Error($"'format' must be '{Format}'");
        if (reader.Int("version") != 1) throw Error($"version {reader.Int("version")} is not supported (only 1)");
        MaskPolicy policy;
        try { policy = MaskPolicyNames.Parse(reader.String("policy")); }
        catch (ArgumentException e) { throw Error(e.Message); }
        var options = new CompressorOptions
        {
            Ratio = reader.Int("ratio"),
            ChunkLength = reader.Int("chunk_length"),
            Policy = policy,
            Placement = reader.Enum<MemoryPlacement>("placement"),
            Positions = reader.Enum<MemoryPositions>("positions"),
            Kind = reader.Enum<MemoryKind>("kind"),
            FastPath = reader.Bool("fast_path"),
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw Error(e.Message); }
        return (options, HasDecoderAdapter(root, Error));
    }

    static bool HasDecoderAdapter(JsonObject root, Func<string, InvalidDataException> error) => root["decoder_adapter"] switch
    {
        null => false,
        JsonObject entry when entry["path"]?.GetValueKind() == JsonValueKind.String && entry["path"]!.GetValue<string>() == DecoderAdapterDir => true,
        var other => throw error($"'decoder_adapter' must be {{\"path\": \"{DecoderAdapterDir}\", …}}, found {other.ToJsonString()}"),
    };
}
