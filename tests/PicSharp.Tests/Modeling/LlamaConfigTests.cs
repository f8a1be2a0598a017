using PicSharp.Modeling;

namespace PicSharp.Tests.Modeling;

public class LlamaConfigTests
{
    // The shape of a real Llama 3.2 config.json (values shrunk), including keys that carry no meaning here.
    const string Llama32 = """
    {
      "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
      "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
      "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072,
      "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
      "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
      "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                       "original_max_position_embeddings": 8192, "rope_type": "llama3"},
      "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
      "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
    }
    """;

    [Fact]
    public void Reads_a_llama_3_2_config()
    {
        var c = LlamaConfig.Parse(Llama32);
        Assert.Equal((2048, 8192, 16, 32, 8, 64), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.Equal(new Llama3RopeScaling(32, 1, 4, 8192), c.RopeScaling);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal("bfloat16", c.TorchDtype);
    }

    [Fact]
    public void Round_trips_through_json()
    {
        var c = LlamaConfig.Parse(Llama32);
        Assert.Equal(c with { EosTokenIds = [] }, LlamaConfig.Parse(c.ToJson()) with { EosTokenIds = [] });
        Assert.Equal(c.EosTokenIds, LlamaConfig.Parse(c.ToJson()).EosTokenIds);
        var qwen = TinyModels.Config("qwen2");
        Assert.Equal(qwen with { EosTokenIds = [] }, LlamaConfig.Parse(qwen.ToJson()) with { EosTokenIds = [] });
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"", "model_type 'gpt2' is not supported; supported: llama, mistral, qwen2, qwen3")]
    [InlineData("\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"", "rope_scaling type 'yarn' is not supported")]
    [InlineData("\"use_cache\": true", "\"use_cache\": true, \"final_logit_softcapping\": 30.0", "'final_logit_softcapping' = 30.0 is not supported")]
    [InlineData("\"use_cache\": true", "\"use_cache\": true, \"layer_types\": [\"sliding_attention\"]", "'layer_types' names layers other than full_attention")]
    [InlineData("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1", "rms_norm_eps (-1) must be a positive number")]
    [InlineData("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 0", "rms_norm_eps (0) must be a positive number")]
    [InlineData("\"max_position_embeddings\": 131072", "\"max_position_embeddings\": 0", "max_position_embeddings (0) must be positive")]
    [InlineData("\"max_position_embeddings\": 131072", "\"max_position_embeddings\": -4", "max_position_embeddings (-4) must be positive")]
    [InlineData("\"rope_theta\": 500000.0", "\"rope_theta\": -5", "rope_theta (-5) must be a positive number")]
    [InlineData("\"factor\": 32.0", "\"factor\": 0", "rope_scaling needs factor > 0")]
    [InlineData("\"bos_token_id\": 128000", "\"bos_token_id\": 128256", "bos_token_id 128256 is outside the vocabulary (vocab_size 128256)")]
    [InlineData("\"eos_token_id\": [128001, 128008, 128009]", "\"eos_token_id\": [128001, 999999]", "eos_token_id 999999 is outside the vocabulary")]
    [InlineData("\"eos_token_id\": [128001, 128008, 128009]", "\"eos_token_id\": \"</s>\"", "field 'eos_token_id' has an invalid value")]
    [InlineData("\"use_cache\": true", "\"use_cache\": true, \"pad_token_id\": -1", "pad_token_id -1 is outside the vocabulary")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "'hidden_act' = gelu is not supported")]
    [InlineData("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 7", "must be a multiple of num_key_value_heads (7)")]
    [InlineData("\"hidden_size\": 2048", "\"hidden_size\": \"big\"", "field 'hidden_size' has an invalid value")]
    [InlineData("\"hidden_size\": 2048,", "", "missing field 'hidden_size'")]
    [InlineData("\"torch_dtype\": \"bfloat16\"", "\"torch_dtype\": \"int4\"", "torch_dtype 'int4' is not supported")]
    public void Rejects_what_it_cannot_honour_with_a_message_naming_it(string find, string replace, string expected)
    {
        var e = Assert.Throws<ModelConfigException>(() => LlamaConfig.Parse(Llama32.Replace(find, replace)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Accepts_dtype_as_written_by_transformers_4_56_and_reports_keys_it_ignores()
    {
        string current = Llama32.Replace("\"torch_dtype\": \"bfloat16\"", "\"dtype\": \"bfloat16\", \"some_future_key\": {\"x\": 1}");
        var c = LlamaConfig.Parse(current, out var ignored);
        Assert.Equal("bfloat16", c.TorchDtype);
        Assert.Equal(["architectures", "attention_dropout", "some_future_key", "transformers_version", "use_cache"], ignored);
        Assert.Equal("int4", Assert.Throws<ModelConfigException>(() => LlamaConfig.Parse(current.Replace("\"dtype\": \"bfloat16\"", "\"dtype\": \"int4\""))).Message.Split('\'')[1]);
    }

    [Fact]
    public void Reads_rope_parameters_as_transformers_5_writes_them()
    {
        string v5 = Llama32.Replace("\"rope_scaling\": {", "\"rope_parameters\": {\"rope_theta\": 250000.0, ").Replace("\"rope_theta\": 500000.0, ", "");
        var c = LlamaConfig.Parse(v5);
        Assert.Equal(250000.0, c.RopeTheta);
        Assert.Equal(new Llama3RopeScaling(32, 1, 4, 8192), c.RopeScaling);
        var plain = LlamaConfig.Parse(TinyModels.Config().ToJson().Replace("\"rope_theta\": 10000", "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 20000}"));
        Assert.Equal((20000.0, (Llama3RopeScaling?)null), (plain.RopeTheta, plain.RopeScaling));
    }

    [Fact]
    public void Rejects_malformed_json()
    {
        Assert.Contains("not valid JSON", Assert.Throws<ModelConfigException>(() => LlamaConfig.Parse("{\"a\": ")).Message);
        Assert.Contains("JSON object", Assert.Throws<ModelConfigException>(() => LlamaConfig.Parse("[1]")).Message);
    }
}
