using PicSharp.Storage;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// LoRA adapters in PEFT's layout: adapter_config.json plus adapter_model.safetensors whose keys are the model's
/// parameter names behind PEFT's wrapper prefix (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`),
/// so a Python user can load them with `PeftModel.from_pretrained`.
/// </summary>
public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    const string KeyPrefix = Compressor.AdapterPrefix;

    /// <summary>Writes one adapter: its settings and its LoRA parameters, named by model path (`model.layers.0.…`).</summary>
    public static void Save(LoraOptions lora, IEnumerable<(string Name, Parameter Parameter)> parameters, string dir, string? baseModelNameOrPath = null)
    {
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["r"] = lora.Rank,
            ["lora_alpha"] = lora.Alpha,
            ["lora_dropout"] = lora.Dropout,
            ["target_modules"] = new JsonArray(lora.TargetModules.Select(m => (JsonNode)m).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["use_rslora"] = false,
            ["use_dora"] = false,
            ["modules_to_save"] = null,
            ["inference_mode"] = true,
        };
        using var scope = NewDisposeScope();
        var weights = parameters.ToDictionary(p => KeyPrefix + p.Name, p => p.Parameter.detach());
        SafeTensorsFile.Save(Path.Combine(dir, WeightsFile), weights, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The LoRA settings of an adapter_config.json; settings this implementation would compute differently are errors.</summary>
    public static LoraOptions ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        InvalidDataException Error(string message) => new($"{path}: {message}");
        var config = FolderJson.ReadObject(path);
        var reader = new FolderJson(config, Error);
        if (reader.String("peft_type") != "LORA") throw Error($"peft_type '{reader.String("peft_type")}' is not supported; only LORA");
        foreach (var (key, supported) in new[] { ("bias", "none"), ("fan_in_fan_out", "false"), ("use_rslora", "false"), ("use_dora", "false") })
        {
            string? found = config[key]?.ToJsonString().Trim('"');
            if (found is not null && found != supported) throw Error($"'{key}' = {found} is not supported (only {supported})");
        }
        if (config["target_modules"] is not JsonArray targets || targets.Any(t => t?.GetValueKind() != JsonValueKind.String))
            throw Error("'target_modules' must be a list of module names (regular expressions are not supported)");
        var modules = targets.Select(t => t!.GetValue<string>()).ToList();
        var unknown = modules.Except(LoraOptions.AllTargets).ToList();
        if (unknown.Count > 0) throw Error($"unknown target module(s) {string.Join(", ", unknown)}; known: {string.Join(", ", LoraOptions.AllTargets)}");
        int rank = reader.Int("r");
        if (rank <= 0) throw Error($"'r' must be positive, found {rank}");
        return new LoraOptions { Rank = rank, Alpha = reader.Double("lora_alpha"), Dropout = reader.Double("lora_dropout", 0), TargetModules = modules };
    }

    /// <summary>The adapter tensors a model with LoRA on the given modules has, with their shapes.</summary>
    public static Dictionary<string, long[]> ExpectedShapes(LlamaForCausalLM model, LoraOptions lora) =>
        model.Projections.Where(p => lora.TargetModules.Contains(p.Path[(p.Path.LastIndexOf('.') + 1)..]))
            .SelectMany(p => new[]
            {
                ($"{KeyPrefix}{p.Path}.lora_A.weight", new long[] { lora.Rank, p.Projection.InFeatures }),
                ($"{KeyPrefix}{p.Path}.lora_B.weight", new long[] { p.Projection.OutFeatures, lora.Rank }),
            }).ToDictionary(e => e.Item1, e => e.Item2);

    /// <summary>Checks adapter_model.safetensors against the shapes LoRA on this model must have; lists every mismatch.</summary>
    public static void CheckWeights(LlamaForCausalLM model, LoraOptions lora, string dir)
    {
        string path = Path.Combine(dir, WeightsFile);
        using var reader = new SafeTensorsReader(path);
        var stored = reader.Header.Tensors.ToDictionary(t => t.Name, t => t.Shape);
        if (TensorShapes.Mismatch(ExpectedShapes(model, lora), stored) is string problems)
            throw new InvalidDataException($"{path}: the adapter does not fit the model; {problems}");
    }

    /// <summary>Copies the adapter weights of <paramref name="dir"/> into LoRA parameters named by model path (names were checked).</summary>
    public static void LoadWeights(IEnumerable<(string Name, Parameter Parameter)> parameters, string dir)
    {
        using var reader = new SafeTensorsReader(Path.Combine(dir, WeightsFile));
        using var _ = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            using var stored = reader.Read(KeyPrefix + name);
            parameter.copy_(stored);
        }
    }
}
