using PicSharp.Storage;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// A trained compressor on disk: the PEFT adapter files (readable by PEFT on their own) plus compressor.json (the
/// PIC options) and compressor.safetensors (memory-token and task-token embeddings), which a PEFT user can ignore.
/// </summary>
public static class CompressorFolder
{
    public const string OptionsFile = "compressor.json";
    public const string EmbeddingsFile = "compressor.safetensors";
    const string Format = "picsharp-compressor";

    public static void Save(Compressor compressor, string dir, string? baseModelNameOrPath = null)
    {
        PeftAdapter.Save(compressor.Options.Lora, compressor.AdapterParameters(), dir, baseModelNameOrPath);
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
    /// and task tokens), in hex. Equal compressors get equal ids on any machine; memory files record it.
    /// </summary>
    public static string Fingerprint(Compressor compressor) =>
        Fingerprints.Of(OptionsJson(compressor.Options) + JsonSerializer.Serialize(compressor.Options.Lora),
            Embeddings(compressor).Select(p => (p.Key, p.Value)).Concat(compressor.AdapterParameters().Select(p => (p.Name, (Tensor)p.Parameter))));

    static Dictionary<string, Tensor> Embeddings(Compressor compressor) => new()
    {
        ["memory_tokens"] = compressor.MemoryTokens.detach(),
        ["task_tokens"] = compressor.TaskTokens.detach(),
    };

    static string OptionsJson(CompressorOptions options) => new JsonObject
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
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The options of a compressor folder: compressor.json and the LoRA settings of adapter_config.json.</summary>
    public static CompressorOptions ReadOptions(string dir) => ReadCompressorJson(dir) with { Lora = PeftAdapter.ReadConfig(dir) };

    static CompressorOptions ReadCompressorJson(string dir)
    {
        string path = Path.Combine(dir, OptionsFile);
        InvalidDataException Error(string message) => new($"{path}: {message}");
        var root = FolderJson.ReadObject(path);
        var reader = new FolderJson(root, Error);
        if (reader.String("format") != Format) throw Error($"'format' must be '{Format}'");
        if (reader.Int("version") != 1) throw Error($"version {reader.Int("version")} is not supported (only 1)");
        // A folder trained with the retired decoder adapter names it here; loaded without it, its memory would be read
        // by a decoder it was not trained for, worse and without a word.
        if (root.ContainsKey("decoder_adapter"))
            throw new InvalidDataException($"{dir}: the compressor has a decoder adapter ('decoder_adapter' in {OptionsFile}), " +
                "a deviation from the paper that PicSharp no longer reads; train it again without one, or read it with PicSharp at tag decoder-adapter-final");
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
        return options;
    }
}
