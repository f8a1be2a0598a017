using PicSharp.Modeling;

namespace PicSharp.Gguf;

/// <summary>One tensor of a Llama-family model as llama.cpp names it, with the Hugging Face tensor it comes from.</summary>
/// <param name="HfShape">the torch shape (the GGUF dims are its reverse).</param>
/// <param name="PermuteHeads">for llama.cpp's adjacent-pair RoPE (llama, mistral): the number of heads whose rows are
/// reordered from HF's rotate-half layout; null when the rows are copied as they are.</param>
public sealed record GgufTensorEntry(string GgufName, string? HfName, long[] HfShape, int? PermuteHeads)
{
    public long[] GgufDims => [.. HfShape.Reverse()];
    /// <summary>Matrices take the requested weight type; vectors (norms, biases, RoPE factors) stay F32, as in llama.cpp's converter.</summary>
    public bool IsMatrix => HfShape.Length == 2;
}

/// <summary>
/// The tensors llama.cpp's `llama`, `qwen2` and `qwen3` architectures load for a config: names, shapes and the HF
/// tensor behind each. The exporter writes them; the GGUF check compares a file against them.
/// </summary>
public static class GgufTensorLayout
{
    public const string RopeFactors = "rope_freqs.weight";

    /// <summary>llama.cpp's architecture name for a config.json model_type (Mistral runs as `llama`, as llama.cpp's converter writes it).</summary>
    public static string Architecture(string modelType) => modelType switch
    {
        "llama" or "mistral" => "llama",
        "qwen2" => "qwen2",
        "qwen3" => "qwen3",
        _ => throw new InvalidInputException($"model_type '{modelType}' has no llama.cpp architecture here; supported: llama, mistral, qwen2, qwen3"),
    };

    /// <summary>llama/mistral use RoPE on adjacent pairs in llama.cpp, so q and k rows are permuted; Qwen's NEOX RoPE is HF's layout.</summary>
    public static bool PermutesQk(string architecture) => architecture == "llama";

    /// <summary>Refuses a config whose computation llama.cpp's architecture would not reproduce.</summary>
    public static void RequireSupported(LlamaConfig config)
    {
        string arch = Architecture(config.ModelType);
        if (arch == "qwen3" && config.AttentionBias)
            throw new ModelConfigException("qwen3 with attention_bias = true: llama.cpp's qwen3 has no attention biases, so the export would compute another model");
        if (arch != "llama" && config.RopeScaling is not null)
            throw new ModelConfigException($"{config.ModelType} with llama3 rope_scaling: llama.cpp reads RoPE frequency factors only for the llama architecture");
    }

    public static IReadOnlyList<GgufTensorEntry> For(LlamaConfig config)
    {
        string arch = Architecture(config.ModelType);
        bool permute = PermutesQk(arch);
        long e = config.HiddenSize, ff = config.IntermediateSize, hd = config.HeadDim;
        long q = config.NumAttentionHeads * hd, kv = config.NumKeyValueHeads * hd;
        var entries = new List<GgufTensorEntry> { new("token_embd.weight", "model.embed_tokens.weight", [config.VocabSize, e], null) };
        if (config.RopeScaling is not null) entries.Add(new(RopeFactors, null, [hd / 2], null));
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string hf = $"model.layers.{i}.", blk = $"blk.{i}.";
            int? qHeads = permute ? config.NumAttentionHeads : null, kHeads = permute ? config.NumKeyValueHeads : null;
            entries.Add(new(blk + "attn_norm.weight", hf + "input_layernorm.weight", [e], null));
            entries.Add(new(blk + "attn_q.weight", hf + "self_attn.q_proj.weight", [q, e], qHeads));
            entries.Add(new(blk + "attn_k.weight", hf + "self_attn.k_proj.weight", [kv, e], kHeads));
            entries.Add(new(blk + "attn_v.weight", hf + "self_attn.v_proj.weight", [kv, e], null));
            if (config.QkvBias)
            {
                entries.Add(new(blk + "attn_q.bias", hf + "self_attn.q_proj.bias", [q], qHeads));
                entries.Add(new(blk + "attn_k.bias", hf + "self_attn.k_proj.bias", [kv], kHeads));
                entries.Add(new(blk + "attn_v.bias", hf + "self_attn.v_proj.bias", [kv], null));
            }
            if (config.QkNorm)
            {
                entries.Add(new(blk + "attn_q_norm.weight", hf + "self_attn.q_norm.weight", [hd], null));
                entries.Add(new(blk + "attn_k_norm.weight", hf + "self_attn.k_norm.weight", [hd], null));
            }
            entries.Add(new(blk + "attn_output.weight", hf + "self_attn.o_proj.weight", [e, q], null));
            if (config.OutputBias) entries.Add(new(blk + "attn_output.bias", hf + "self_attn.o_proj.bias", [e], null));
            entries.Add(new(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight", [e], null));
            entries.Add(new(blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight", [ff, e], null));
            entries.Add(new(blk + "ffn_up.weight", hf + "mlp.up_proj.weight", [ff, e], null));
            entries.Add(new(blk + "ffn_down.weight", hf + "mlp.down_proj.weight", [e, ff], null));
        }
        entries.Add(new("output_norm.weight", "model.norm.weight", [e], null));
        // Tied embeddings: no output tensor; llama.cpp then multiplies by token_embd.
        if (!config.TieWordEmbeddings) entries.Add(new("output.weight", "lm_head.weight", [config.VocabSize, e], null));
        return entries;
    }

    /// <summary>
    /// Llama 3.1 RoPE as llama.cpp applies it: one factor per frequency that the base frequency is divided by (the
    /// `rope_freqs` tensor llama.cpp's converter writes), from <see cref="RotaryEmbedding.InverseFrequencies"/>.
    /// </summary>
    public static float[] RopeFactorValues(LlamaConfig config)
    {
        double[] plain = RotaryEmbedding.InverseFrequencies(config.HeadDim, config.RopeTheta, null);
        double[] scaled = RotaryEmbedding.InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeScaling);
        return plain.Zip(scaled, (p, s) => (float)(p / s)).ToArray();
    }
}
