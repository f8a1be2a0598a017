using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public class LlamaTests
{
    [Theory]
    [InlineData("llama", 2, false, false)]
    [InlineData("llama", 4, true, true)]
    [InlineData("qwen2", 1, false, false)]
    public void Forward_matches_independent_reference(string modelType, int kvHeads, bool tied, bool attentionBias)
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config(modelType, kvHeads, tied, attentionBias));
        int[] tokens = [5, 17, 3, 42, 9, 60, 0, 11];

        var logits = model.Logits(model.ForwardTokens(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0)))[0];
        var expected = ReferenceLlama.From(model).Logits(tokens);

        var reference = tensor(expected.SelectMany(r => r).ToArray()).reshape(tokens.Length, -1);
        Assert.True(TinyModels.MaxAbsDiff(logits, reference) < 1e-4, $"max diff {TinyModels.MaxAbsDiff(logits, reference)}");
    }

    [Fact]
    public void Qwen2_has_qkv_bias_but_no_output_bias_and_llama_attention_bias_has_all_four()
    {
        var qwen = new LlamaForCausalLM(TinyModels.Config("qwen2"));
        var names = qwen.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        var llama = new LlamaForCausalLM(TinyModels.Config("llama", attentionBias: true));
        Assert.Contains("model.layers.1.self_attn.o_proj.bias", llama.named_parameters().Select(p => p.name));
    }

    [Fact]
    public void Rotary_frequencies_are_a_buffer_outside_state_dict_that_stays_fp32()
    {
        using var model = new LlamaForCausalLM(TinyModels.Config());
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("inv_freq"));
        var before = model.Rotary.InverseFrequencyBuffer.clone();
        model.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.Dtype);
        Assert.Equal(ScalarType.Float32, model.Rotary.InverseFrequencyBuffer.dtype);
        Assert.Equal(0, TinyModels.MaxAbsDiff(before, model.Rotary.InverseFrequencyBuffer));
        // It follows the model to another device (the meta device stands in for a GPU here).
        model.to(new Device(DeviceType.META));
        Assert.Equal(DeviceType.META, model.Rotary.InverseFrequencyBuffer.device_type);
        Assert.Equal(ScalarType.Float32, model.Rotary.InverseFrequencyBuffer.dtype);
    }

    [Fact]
    public void Generation_stops_with_an_error_on_non_finite_logits()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        using (no_grad()) model.named_parameters().First(p => p.name == "model.norm.weight").parameter[0] = float.NaN;
        var error = Assert.Throws<InvalidDataException>(() =>
            TextGeneration.Generate(model, model.Embed(TinyModels.RandomTokens(61, 1, 4)), new GenerationOptions { MaxNewTokens = 3 }));
        Assert.Contains("NaN or infinite logits", error.Message);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Parameters_are_created_in_the_requested_dtype(ScalarType dtype)
    {
        using var model = new LlamaForCausalLM(TinyModels.Config("qwen2"), dtype);
        Assert.All(model.named_parameters(), p => Assert.Equal(dtype, p.parameter.dtype));
    }

    [Fact]
    public void Parameter_names_are_hugging_face_names()
    {
        var model = new LlamaForCausalLM(TinyModels.Config());
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", names);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.DoesNotContain("lm_head.weight", new LlamaForCausalLM(TinyModels.Config(tied: true)).named_parameters().Select(p => p.name));
    }

    [Fact]
    public void Incremental_decoding_with_kv_cache_equals_full_forward()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 2, 12);
        var full = model.Logits(model.ForwardTokens(tokens));

        using var cache = new KvCache(model.Config.NumHiddenLayers);
        var pieces = new List<Tensor> { model.Logits(model.ForwardTokens(tokens[.., ..5], cache: cache)) };
        for (int t = 5; t < 12; t++)
            pieces.Add(model.Logits(model.ForwardTokens(tokens[.., t..(t + 1)], cache: cache)));
        var incremental = cat(pieces, dim: 1);

        Assert.Equal(12, cache.Length);
        Assert.True(TinyModels.MaxAbsDiff(full, incremental) <= 1e-5, $"max diff {TinyModels.MaxAbsDiff(full, incremental)}");
    }

    [Fact]
    public void Multi_token_step_after_a_cached_prefix_is_causal_within_the_step()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 1, 10);
        var full = model.Logits(model.ForwardTokens(tokens));
        using var cache = new KvCache(model.Config.NumHiddenLayers);
        model.ForwardTokens(tokens[.., ..4], cache: cache);
        var rest = model.Logits(model.ForwardTokens(tokens[.., 4..], cache: cache));
        Assert.True(TinyModels.MaxAbsDiff(full[.., 4..], rest) <= 1e-5);
    }

    [Fact]
    public void Explicit_causal_mask_equals_built_in_causal_path()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 2, 9);
        var builtIn = model.ForwardTokens(tokens);
        var explicitMask = model.ForwardTokens(tokens, mask: AttentionMask.Causal(9));
        var batchedMask = model.ForwardTokens(tokens, mask: AttentionMask.Causal(9).unsqueeze(0).expand(2, 9, 9));
        Assert.True(TinyModels.MaxAbsDiff(builtIn, explicitMask) <= 1e-6);
        Assert.True(TinyModels.MaxAbsDiff(builtIn, batchedMask) <= 1e-6);
    }

    [Fact]
    public void A_mask_that_hides_a_token_removes_its_influence()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var a = TinyModels.RandomTokens(61, 1, 6, seed: 1);
        var b = a.clone();
        b[0, 2] = (a[0, 2] + 1) % 61;
        var mask = AttentionMask.Causal(6).clone();
        mask[.., 2] = false;
        mask[2, 2] = true; // the hidden token still sees itself, so its row is not empty
        var ha = model.ForwardTokens(a, mask: mask);
        var hb = model.ForwardTokens(b, mask: mask);
        Assert.True(TinyModels.MaxAbsDiff(ha[.., 3..], hb[.., 3..]) == 0);
        Assert.True(TinyModels.MaxAbsDiff(ha[.., 2], hb[.., 2]) > 1e-3);
    }

    [Fact]
    public void Grouped_query_attention_equals_multi_head_attention_with_repeated_kv_heads()
    {
        using var scope = NewDisposeScope();
        var gqa = TinyModels.Create(TinyModels.Config(kvHeads: 2));
        var mha = new LlamaForCausalLM(TinyModels.Config(kvHeads: 4));
        int repeat = 2, headDim = gqa.Config.HeadDim;
        var source = gqa.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, target) in mha.named_parameters())
            {
                Tensor weight = source[name];
                if (name.Contains("k_proj") || name.Contains("v_proj"))
                {
                    // Rows are grouped per head; head j of the MHA model is KV head j / repeat of the GQA model.
                    var perHead = weight.reshape(-1, headDim, weight.shape[^1]);
                    weight = perHead.repeat_interleave(repeat, dim: 0).reshape(-1, weight.shape[^1]);
                }
                target.copy_(weight);
            }
        }
        var tokens = TinyModels.RandomTokens(61, 2, 7);
        Assert.True(TinyModels.MaxAbsDiff(gqa.ForwardTokens(tokens), mha.ForwardTokens(tokens)) <= 1e-5);
    }

    [Theory]
    [InlineData(new long[] { 0, 1, 7, 100, 511 })] // looked up in the table (max_position_embeddings = 512)
    [InlineData(new long[] { 0, 7, 511, 512, 900 })] // past the table: computed directly
    public void Rope_equals_the_direct_rotation_formula(long[] positions)
    {
        using var scope = NewDisposeScope();
        var config = TinyModels.Config();
        using var rope = new RotaryEmbedding(config);
        int D = config.HeadDim;
        var x = randn(1, 1, positions.Length, D, dtype: ScalarType.Float64, generator: new Generator(5));
        var rotated = RotaryEmbedding.Apply(x, rope.Angles(tensor(positions).unsqueeze(0), positions.Max() + 1, ScalarType.Float64));
        for (int p = 0; p < positions.Length; p++)
            for (int i = 0; i < D / 2; i++)
            {
                double angle = positions[p] / Math.Pow(config.RopeTheta, 2.0 * i / D);
                double a = x[0, 0, p, i].item<double>(), b = x[0, 0, p, i + D / 2].item<double>();
                // Angles are formed in fp32 as in HF, so large positions carry ~position·1e-7 of angle error.
                Assert.InRange(rotated[0, 0, p, i].item<double>() - (a * Math.Cos(angle) - b * Math.Sin(angle)), -2e-5, 2e-5);
                Assert.InRange(rotated[0, 0, p, i + D / 2].item<double>() - (a * Math.Sin(angle) + b * Math.Cos(angle)), -2e-5, 2e-5);
            }
    }

    [Fact]
    public void Rope_by_start_position_equals_rope_by_position_ids_inside_and_past_the_table()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(TinyModels.Config());
        foreach (long start in new long[] { 0, 300, 510, 700 })
        {
            var (cos, sin) = rope.Angles(start, 4, ScalarType.BFloat16);
            var (idCos, idSin) = rope.Angles(arange(start, start + 4, dtype: ScalarType.Int64).unsqueeze(0), start + 4, ScalarType.BFloat16);
            Assert.Equal(ScalarType.BFloat16, cos.dtype);
            Assert.True(TinyModels.MaxAbsDiff(cos, idCos) == 0 && TinyModels.MaxAbsDiff(sin, idSin) == 0);
        }
    }

    [Fact]
    public void Llama3_rope_scaling_keeps_high_frequencies_slows_low_ones_and_blends_between()
    {
        var scaling = new Llama3RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192);
        double[] plain = RotaryEmbedding.InverseFrequencies(128, 500000, null);
        double[] scaled = RotaryEmbedding.InverseFrequencies(128, 500000, scaling);
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelength = 2 * Math.PI / plain[i];
            if (wavelength < 8192 / 4.0) Assert.Equal(plain[i], scaled[i]);
            else if (wavelength > 8192 / 1.0) Assert.Equal(plain[i] / 8, scaled[i], 12);
            else Assert.InRange(scaled[i], plain[i] / 8, plain[i]);
        }
        Assert.Contains(plain.Zip(scaled), p => p.First != p.Second && Math.Abs(p.First / 8 - p.Second) > 1e-12);
    }

    [Fact]
    public void Bfloat16_forward_stays_close_to_fp32()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 1, 16);
        var fp32 = model.Logits(model.ForwardTokens(tokens));
        model.to(ScalarType.BFloat16);
        var bf16 = model.Logits(model.ForwardTokens(tokens));
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        Assert.True(TinyModels.MaxAbsDiff(fp32, bf16) < 0.05, $"max diff {TinyModels.MaxAbsDiff(fp32, bf16)}");
    }
}
