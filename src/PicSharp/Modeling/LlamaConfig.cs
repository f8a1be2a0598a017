using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Modeling;

/// <summary>Thrown for a config.json the model cannot honour; the message names the field.</summary>
public sealed class ModelConfigException(string message) : Exception(message);

/// <summary>RoPE frequency scaling as Llama 3.x checkpoints declare it (`rope_scaling.rope_type == "llama3"`).</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The Hugging Face config.json of a Llama-family decoder. Property names mirror the JSON keys; Qwen2 is the same
/// architecture with biases on the q/k/v projections.
/// </summary>
public sealed record LlamaConfig
{
    public static readonly string[] SupportedModelTypes = ["llama", "qwen2"];

    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-5;
    public double RopeTheta { get; init; } = 10000.0;
    public Llama3RopeScaling? RopeScaling { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Llama's `attention_bias`: biases on q, k, v and o.</summary>
    public bool AttentionBias { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public string TorchDtype { get; init; } = "float32";
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Qwen2 puts biases on q, k, v but not on o; Llama's attention_bias covers all four.</summary>
    public bool QkvBias => AttentionBias || ModelType == "qwen2";
    public bool OutputBias => AttentionBias && ModelType != "qwen2";

    // Keys that carry no meaning for inference or training here; accepted and dropped.
    static readonly HashSet<string> IgnoredKeys =
    [
        "architectures", "transformers_version", "use_cache", "_name_or_path", "auto_map", "model_name",
        "output_attentions", "output_hidden_states", "return_dict", "attention_dropout", "max_window_layers",
        "sliding_window", "bos_token", "eos_token", "pad_token", "is_llama_config", "rope_interleaved",
    ];

    // Keys whose only supported value is the one given: anything else would silently compute a different model.
    static readonly Dictionary<string, string> RequiredValues = new()
    {
        ["hidden_act"] = "silu",
        ["use_sliding_window"] = "false",
        ["mlp_bias"] = "false",
        ["pretraining_tp"] = "1",
    };

    public static LlamaConfig Load(string path)
    {
        string text = File.ReadAllText(path);
        try { return Parse(text); }
        catch (ModelConfigException e) { throw new ModelConfigException($"{path}: {e.Message}"); }
    }

    public static LlamaConfig Parse(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new ModelConfigException("config.json must hold a JSON object");
        }
        catch (JsonException e) { throw new ModelConfigException($"config.json is not valid JSON: {e.Message}"); }

        var reader = new ConfigReader(root);
        string modelType = reader.String("model_type") ?? throw new ModelConfigException("missing field 'model_type'");
        if (!SupportedModelTypes.Contains(modelType))
            throw new ModelConfigException($"model_type '{modelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}");

        int hidden = reader.RequiredInt("hidden_size");
        int heads = reader.RequiredInt("num_attention_heads");
        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = reader.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = reader.RequiredInt("intermediate_size"),
            NumHiddenLayers = reader.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = reader.Int("num_key_value_heads") ?? heads,
            HeadDim = reader.Int("head_dim") ?? hidden / heads,
            RmsNormEps = reader.Double("rms_norm_eps") ?? 1e-5,
            RopeTheta = reader.Double("rope_theta") ?? 10000.0,
            RopeScaling = ReadRopeScaling(root["rope_scaling"]),
            MaxPositionEmbeddings = reader.Int("max_position_embeddings") ?? 2048,
            TieWordEmbeddings = reader.Bool("tie_word_embeddings") ?? false,
            AttentionBias = reader.Bool("attention_bias") ?? false,
            BosTokenId = reader.Int("bos_token_id"),
            EosTokenIds = reader.IntOrList("eos_token_id"),
            PadTokenId = reader.Int("pad_token_id"),
            TorchDtype = reader.String("torch_dtype") ?? "float32",
            InitializerRange = reader.Double("initializer_range") ?? 0.02,
        };
        reader.Consume("rope_scaling");
        foreach (var (key, value) in RequiredValues)
        {
            string? found = reader.Raw(key);
            if (found is not null && found != value)
                throw new ModelConfigException($"field '{key}' = {found} is not supported (only {value})");
        }
        var unknown = root.Select(p => p.Key).Where(k => !reader.Consumed.Contains(k) && !IgnoredKeys.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ModelConfigException($"unknown config field(s): {string.Join(", ", unknown)}");
        config.Validate();
        return config;
    }

    static Llama3RopeScaling? ReadRopeScaling(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonObject scaling) throw new ModelConfigException("rope_scaling must be an object or null");
        string? kind = (scaling["rope_type"] ?? scaling["type"])?.GetValue<string>();
        if (kind == "default") return null;
        if (kind != "llama3")
            throw new ModelConfigException($"rope_scaling type '{kind}' is not supported; supported: llama3, default");
        var reader = new ConfigReader(scaling);
        return new Llama3RopeScaling(
            reader.Double("factor") ?? throw new ModelConfigException("rope_scaling.factor is missing"),
            reader.Double("low_freq_factor") ?? 1.0,
            reader.Double("high_freq_factor") ?? 4.0,
            reader.Int("original_max_position_embeddings") ?? 8192);
    }

    /// <summary>Checks the shape arithmetic that the modules rely on.</summary>
    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ModelConfigException(message); }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0, "vocab_size, hidden_size, intermediate_size and num_hidden_layers must be positive");
        Require(NumAttentionHeads > 0 && NumKeyValueHeads > 0, "attention head counts must be positive");
        Require(NumAttentionHeads % NumKeyValueHeads == 0, $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be positive and even for RoPE");
        Require(TorchDtype is "float32" or "bfloat16" or "float16", $"torch_dtype '{TorchDtype}' is not supported; supported: float32, bfloat16, float16");
    }

    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is null ? null : new JsonObject
            {
                ["rope_type"] = "llama3",
                ["factor"] = RopeScaling.Factor,
                ["low_freq_factor"] = RopeScaling.LowFreqFactor,
                ["high_freq_factor"] = RopeScaling.HighFreqFactor,
                ["original_max_position_embeddings"] = RopeScaling.OriginalMaxPositionEmbeddings,
            },
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["torch_dtype"] = TorchDtype,
            ["initializer_range"] = InitializerRange,
        };
        if (ModelType == "llama") o["attention_bias"] = AttentionBias;
        if (BosTokenId is int bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray());
        if (PadTokenId is int pad) o["pad_token_id"] = pad;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Typed reads that remember which keys were used, so leftovers can be reported as unknown.</summary>
    sealed class ConfigReader(JsonObject root)
    {
        public HashSet<string> Consumed { get; } = [];

        public void Consume(string key) => Consumed.Add(key);

        public string? Raw(string key)
        {
            Consumed.Add(key);
            return root[key]?.ToJsonString().Trim('"');
        }

        T? Read<T>(string key, Func<JsonValue, T> convert) where T : struct
        {
            Consumed.Add(key);
            JsonNode? node = root[key];
            if (node is null) return null;
            try { return convert(node.AsValue()); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ModelConfigException($"field '{key}' has an invalid value {node.ToJsonString()} (expected {typeof(T).Name})");
            }
        }

        public int? Int(string key) => Read(key, v => v.GetValue<int>());
        public double? Double(string key) => Read(key, v => v.GetValue<double>());
        public bool? Bool(string key) => Read(key, v => v.GetValue<bool>());
        public int RequiredInt(string key) => Int(key) ?? throw new ModelConfigException($"missing field '{key}'");

        public string? String(string key)
        {
            Consumed.Add(key);
            JsonNode? node = root[key];
            if (node is null) return null;
            try { return node.GetValue<string>(); }
            catch (InvalidOperationException) { throw new ModelConfigException($"field '{key}' must be a string, found {node.ToJsonString()}"); }
        }

        public IReadOnlyList<int> IntOrList(string key)
        {
            Consumed.Add(key);
            return root[key] switch
            {
                null => [],
                JsonArray list => list.Select(n => n!.GetValue<int>()).ToList(),
                JsonNode single => [single.GetValue<int>()],
            };
        }
    }
}
