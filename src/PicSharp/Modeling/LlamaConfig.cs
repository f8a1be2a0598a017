using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Modeling;

/// <summary>Thrown for a config.json the model cannot honour; the message names the field.</summary>
public sealed class ModelConfigException(string message) : Exception(message);

/// <summary>RoPE frequency scaling as Llama 3.x checkpoints declare it (`rope_scaling.rope_type == "llama3"`).</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The Hugging Face config.json of a Llama-family decoder. Property names mirror the JSON keys. The families differ
/// in details only: Qwen2 puts biases on q, k, v; Qwen3 normalises each head's q and k (RMSNorm) before RoPE; Mistral
/// may limit attention to a sliding window.
/// </summary>
public sealed record LlamaConfig
{
    public static readonly string[] SupportedModelTypes = ["llama", "mistral", "qwen2", "qwen3"];

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
    /// <summary>Mistral's `sliding_window`: how many keys a token may attend to (itself included); null = all.</summary>
    public int? SlidingWindow { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public string TorchDtype { get; init; } = "float32";
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Qwen2 puts biases on q, k, v but not on o; Llama's attention_bias covers all four.</summary>
    public bool QkvBias => AttentionBias || ModelType == "qwen2";
    public bool OutputBias => AttentionBias && ModelType != "qwen2";
    /// <summary>Qwen3's per-head RMSNorm of queries and keys (`q_norm`, `k_norm`) before RoPE.</summary>
    public bool QkNorm => ModelType == "qwen3";

    /// <summary>The transformers class that runs this config (config.json's `architectures`).</summary>
    public string Architecture => ModelType switch
    {
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        _ => "LlamaForCausalLM",
    };

    // Keys that would change what the model computes when they hold anything but the value given (absent is fine):
    // refusing them is better than silently computing another model.
    static readonly Dictionary<string, string> RequiredValues = new()
    {
        ["hidden_act"] = "silu",
        ["use_sliding_window"] = "false",
        ["mlp_bias"] = "false",
        ["pretraining_tp"] = "1",
        ["attn_logit_softcapping"] = "null",
        ["final_logit_softcapping"] = "null",
        ["partial_rotary_factor"] = "1",
        ["rope_interleaved"] = "false",
    };

    public static LlamaConfig Load(string path) => Load(path, out _);

    /// <param name="ignoredKeys">the file's keys that do not affect the model here (tooling, caching, dropout, …).</param>
    public static LlamaConfig Load(string path, out IReadOnlyList<string> ignoredKeys)
    {
        string text = File.ReadAllText(path);
        try { return Parse(text, out ignoredKeys); }
        catch (ModelConfigException e) { throw new ModelConfigException($"{path}: {e.Message}"); }
    }

    public static LlamaConfig Parse(string json) => Parse(json, out _);

    /// <summary>
    /// Reads a config.json. Keys this model does not use are accepted and reported in <paramref name="ignoredKeys"/>
    /// (new transformers releases add keys often); values that would change the maths are refused.
    /// </summary>
    public static LlamaConfig Parse(string json, out IReadOnlyList<string> ignoredKeys)
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
        // transformers ≥ 5 gathers theta and scaling in rope_parameters; earlier releases use rope_theta and rope_scaling.
        var ropeParameters = root["rope_parameters"];
        var ropeReader = ropeParameters is JsonObject parameters ? new ConfigReader(parameters) : null;
        reader.Consume("rope_parameters");
        reader.Consume("rope_scaling");
        int? slidingWindow = modelType == "mistral" ? reader.Int("sliding_window") : null;
        // transformers ≥ 4.56 writes `dtype`; earlier releases `torch_dtype`.
        string? dtype = reader.String("dtype") ?? reader.String("torch_dtype");
        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = reader.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = reader.RequiredInt("intermediate_size"),
            NumHiddenLayers = reader.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = reader.Int("num_key_value_heads") ?? heads,
            HeadDim = reader.Int("head_dim") ?? (heads > 0 ? hidden / heads : 0),
            RmsNormEps = reader.Double("rms_norm_eps") ?? 1e-5,
            RopeTheta = ropeReader?.Double("rope_theta") ?? reader.Double("rope_theta") ?? 10000.0,
            RopeScaling = ReadRopeScaling(ropeParameters ?? root["rope_scaling"]),
            MaxPositionEmbeddings = reader.Int("max_position_embeddings") ?? 2048,
            TieWordEmbeddings = reader.Bool("tie_word_embeddings") ?? false,
            AttentionBias = reader.Bool("attention_bias") ?? false,
            // Only Mistral reads sliding_window on its own; Qwen's needs use_sliding_window (refused below).
            SlidingWindow = slidingWindow,
            BosTokenId = reader.Int("bos_token_id"),
            EosTokenIds = reader.IntOrList("eos_token_id"),
            PadTokenId = reader.Int("pad_token_id"),
            TorchDtype = dtype ?? "float32",
            InitializerRange = reader.Double("initializer_range") ?? 0.02,
        };
        foreach (var (key, value) in RequiredValues)
        {
            string? found = reader.Raw(key);
            if (found is not null && found != value && !SameNumber(found, value))
                throw new ModelConfigException($"field '{key}' = {found} is not supported (only {value})");
        }
        if (reader.Raw("layer_types") is not null && root["layer_types"] is JsonArray layerTypes
            && layerTypes.Any(t => t?.ToJsonString().Trim('"') != "full_attention"))
            throw new ModelConfigException("field 'layer_types' names layers other than full_attention (sliding-window layers are not supported)");
        ignoredKeys = root.Select(p => p.Key).Where(k => !reader.Consumed.Contains(k)).ToList();
        config.Validate();
        return config;
    }

    static bool SameNumber(string a, string b) =>
        double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
        && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out double y) && x == y;

    static Llama3RopeScaling? ReadRopeScaling(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonObject scaling) throw new ModelConfigException("rope_scaling must be an object or null");
        if (scaling["rope_type"] is null && scaling["type"] is null && scaling["factor"] is null) return null; // rope_parameters with theta only
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

    /// <summary>Checks the shape arithmetic the modules rely on and refuses values that make no sense.</summary>
    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ModelConfigException(message); }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0, "vocab_size, hidden_size, intermediate_size and num_hidden_layers must be positive");
        Require(NumAttentionHeads > 0 && NumKeyValueHeads > 0, "attention head counts must be positive");
        Require(NumAttentionHeads % NumKeyValueHeads == 0, $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be positive and even for RoPE");
        Require(TorchDtype is "float32" or "bfloat16" or "float16", $"torch_dtype '{TorchDtype}' is not supported; supported: float32, bfloat16, float16");
        Require(double.IsFinite(RmsNormEps) && RmsNormEps > 0, $"rms_norm_eps ({RmsNormEps}) must be a positive number");
        Require(double.IsFinite(RopeTheta) && RopeTheta > 0, $"rope_theta ({RopeTheta}) must be a positive number");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings ({MaxPositionEmbeddings}) must be positive");
        Require(double.IsFinite(InitializerRange) && InitializerRange >= 0, $"initializer_range ({InitializerRange}) must be a non-negative number");
        Require(SlidingWindow is null or > 0, $"sliding_window ({SlidingWindow}) must be positive or null");
        if (RopeScaling is { } s)
            Require(double.IsFinite(s.Factor) && s.Factor > 0 && s.LowFreqFactor > 0 && s.HighFreqFactor > s.LowFreqFactor && s.OriginalMaxPositionEmbeddings > 0,
                $"rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 (found {s.Factor}, {s.LowFreqFactor}, {s.HighFreqFactor}, {s.OriginalMaxPositionEmbeddings})");
        foreach (var (key, id) in new[] { ("bos_token_id", BosTokenId), ("pad_token_id", PadTokenId) }.Concat(EosTokenIds.Select(e => ("eos_token_id", (int?)e))))
            Require(id is null || (id >= 0 && id < VocabSize), $"{key} {id} is outside the vocabulary (vocab_size {VocabSize})");
    }

    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
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
        if (ModelType is "llama" or "qwen3") o["attention_bias"] = AttentionBias;
        if (ModelType == "mistral") o["sliding_window"] = SlidingWindow;
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
            try
            {
                return root[key] switch
                {
                    null => [],
                    JsonArray list => list.Select(n => n!.GetValue<int>()).ToList(),
                    JsonNode single => [single.GetValue<int>()],
                };
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new ModelConfigException($"field '{key}' has an invalid value {root[key]!.ToJsonString()} (expected an integer or a list of integers)");
            }
        }
    }
}
