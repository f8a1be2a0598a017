using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

/// <summary>
/// Current base-model families, each from a config.json with the real keys of its published checkpoints (sizes
/// shrunk): random weights saved in the checkpoint's dtype reload bit for bit, and the forward equals the
/// independent reference.
/// </summary>
public sealed class ArchitectureTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-arch-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // Qwen3-0.6B's keys: explicit head_dim (≠ hidden/heads), per-head q/k RMSNorm, no biases, tied embeddings.
    const string Qwen3 = """
    {
      "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 50,
      "eos_token_id": 51, "head_dim": 16, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
      "intermediate_size": 48, "max_position_embeddings": 40960, "max_window_layers": 2, "model_type": "qwen3",
      "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
      "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
      "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
      "vocab_size": 64
    }
    """;

    // Mistral-7B-v0.1's keys: a sliding window, untied head.
    const string Mistral = """
    {
      "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
      "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 56, "max_position_embeddings": 32768,
      "model_type": "mistral", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
      "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 16, "tie_word_embeddings": false,
      "torch_dtype": "bfloat16", "transformers_version": "4.34.0", "use_cache": true, "vocab_size": 64
    }
    """;

    // SmolLM2-135M's keys: tied embeddings, 3 query heads per K/V head, Llama keys plus is_llama_config and rope_interleaved.
    const string SmolLm2 = """
    {
      "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 0,
      "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 48, "initializer_range": 0.041666666666666664,
      "intermediate_size": 64, "is_llama_config": true, "max_position_embeddings": 8192, "mlp_bias": false,
      "model_type": "llama", "num_attention_heads": 6, "num_hidden_layers": 2, "num_key_value_heads": 2,
      "pad_token_id": null, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_interleaved": false,
      "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
      "transformers_version": "4.42.3", "use_cache": true, "vocab_size": 64
    }
    """;

    // Llama-3.2-1B's keys: llama3 rope scaling (original window shrunk so the scaling changes these short sequences),
    // tied embeddings, a list of EOS ids, and transformers ≥ 4.56's `dtype`.
    const string Llama32 = """
    {
      "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 60,
      "eos_token_id": [61, 62, 63], "head_dim": 8, "hidden_act": "silu", "hidden_size": 32,
      "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 131072, "mlp_bias": false,
      "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 1,
      "pretraining_tp": 1, "rms_norm_eps": 1e-05,
      "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                       "original_max_position_embeddings": 16, "rope_type": "llama3"},
      "rope_theta": 500000.0, "tie_word_embeddings": true, "dtype": "bfloat16",
      "transformers_version": "4.56.0", "use_cache": true, "vocab_size": 64
    }
    """;

    public static TheoryData<string, string> Families => new()
    {
        { "qwen3", Qwen3 }, { "mistral", Mistral }, { "smollm2", SmolLm2 }, { "llama-3.2", Llama32 },
    };

    static readonly int[] Tokens = [5, 17, 3, 42, 9, 60, 0, 11, 33, 8, 21, 14];

    /// <summary>
    /// Random weights ten times the usual init (at 0.02 attention is nearly uniform and every variant gives nearly the
    /// same logits), with norms and biases moved off their initial values so their use is visible.
    /// </summary>
    static LlamaForCausalLM RandomModel(LlamaConfig config)
    {
        var model = new LlamaForCausalLM(config);
        model.InitializeWeights(seed: 4);
        using var _ = no_grad();
        var generator = new Generator(5);
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith("norm.weight")) p.add_(randn(p.shape, generator: generator) * 0.2);
            else if (name.EndsWith(".bias")) p.normal_(0, 0.1, generator);
            else p.mul_(10);
        return model;
    }

    static Tensor Logits(LlamaForCausalLM model)
    {
        using var _ = no_grad();
        return model.Logits(model.ForwardTokens(tensor(Tokens.Select(t => (long)t).ToArray()).unsqueeze(0)))[0];
    }

    static Tensor ReferenceLogits(LlamaForCausalLM model) =>
        tensor(ReferenceLlama.From(model).Logits(Tokens).SelectMany(r => r).ToArray()).reshape(Tokens.Length, -1);

    [Theory]
    [MemberData(nameof(Families))]
    public void Saved_in_its_dtype_reloads_exactly_and_equals_the_reference(string family, string json)
    {
        using var scope = NewDisposeScope();
        var config = LlamaConfig.Parse(json);
        Assert.Equal(ScalarType.BFloat16, ModelFolder.ParseTorchDtype(config.TorchDtype));
        var model = RandomModel(config);
        // Llama-3.2 checkpoints come sharded; the others in one file.
        ModelFolder.Save(model, dir, ScalarType.BFloat16, maxShardBytes: family == "llama-3.2" ? 8_000 : null);

        var loaded = ModelFolder.Load(dir);
        Assert.Equal(ScalarType.BFloat16, loaded.Dtype);
        Assert.Equal(config with { EosTokenIds = [] }, loaded.Config with { EosTokenIds = [] });
        Assert.Equal(config.EosTokenIds, loaded.Config.EosTokenIds);
        var original = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(original.Keys.Order(), loaded.named_parameters().Select(p => p.name).Order());
        foreach (var (name, p) in loaded.named_parameters())
            Assert.True(TinyModels.MaxAbsDiff(original[name].to(ScalarType.BFloat16), p) == 0, $"{family}: {name} changed on the way through the files");

        var exact = ModelFolder.Load(dir, ScalarType.Float32); // bf16 values, fp32 arithmetic, as the reference's doubles
        double diff = TinyModels.MaxAbsDiff(Logits(exact), ReferenceLogits(exact));
        Assert.True(diff < 1e-4, $"{family}: max diff to the reference {diff}");
    }

    [Fact]
    public void Qwen3_normalises_queries_and_keys_per_head()
    {
        using var scope = NewDisposeScope();
        var model = RandomModel(LlamaConfig.Parse(Qwen3));
        var names = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal([16], names["model.layers.1.self_attn.q_norm.weight"].shape);
        Assert.Equal([16], names["model.layers.1.self_attn.k_norm.weight"].shape);
        Assert.Equal([64, 32], names["model.layers.0.self_attn.q_proj.weight"].shape); // 4 heads × head_dim 16 from hidden 32
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.bias", names.Keys);
        // The norms take part: changing one changes the output.
        var before = Logits(model);
        using (no_grad()) names["model.layers.0.self_attn.k_norm.weight"].mul_(1.5);
        Assert.True(TinyModels.MaxAbsDiff(before, Logits(model)) > 0.1);
    }

    [Fact]
    public void Llama3_rope_scaling_changes_the_output_as_the_reference_does()
    {
        using var scope = NewDisposeScope();
        var config = LlamaConfig.Parse(Llama32);
        var scaled = RandomModel(config);
        var plain = RandomModel(config with { RopeScaling = null });
        var (scaledLogits, plainLogits) = (Logits(scaled), Logits(plain));
        Assert.True(TinyModels.MaxAbsDiff(scaledLogits, plainLogits) > 0.1, $"scaling moved the logits by {TinyModels.MaxAbsDiff(scaledLogits, plainLogits)}");
        Assert.True(TinyModels.MaxAbsDiff(scaledLogits, ReferenceLogits(scaled)) < 1e-4);
        Assert.True(TinyModels.MaxAbsDiff(plainLogits, ReferenceLogits(plain)) < 1e-4);
    }

    [Fact]
    public void Mistral_refuses_sequences_longer_than_its_sliding_window_and_attends_in_full_within_it()
    {
        using var scope = NewDisposeScope();
        var model = RandomModel(LlamaConfig.Parse(Mistral));
        Assert.Equal(16, model.Config.SlidingWindow);
        using var _ = no_grad();
        model.ForwardTokens(TinyModels.RandomTokens(64, 1, 16));
        var error = Assert.Throws<ArgumentException>(() => model.ForwardTokens(TinyModels.RandomTokens(64, 1, 17)));
        Assert.Contains("17 tokens exceed the model's sliding_window of 16", error.Message);

        // Generation reaches the window through the cache and stops there with the same message.
        var prompt = model.Embed(TinyModels.RandomTokens(64, 1, 10));
        Assert.Equal(6, TextGeneration.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 6 }).Tokens.Count);
        Assert.Contains("sliding_window", Assert.Throws<ArgumentException>(() =>
            TextGeneration.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 8 })).Message);

        var unlimited = RandomModel(LlamaConfig.Parse(Mistral.Replace("\"sliding_window\": 16", "\"sliding_window\": null")));
        Assert.Null(unlimited.Config.SlidingWindow);
        unlimited.ForwardTokens(TinyModels.RandomTokens(64, 1, 40));
    }
}
