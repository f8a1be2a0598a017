using PicSharp.Storage;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public sealed class ModelFolderTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-model-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static void AssertSameWeights(LlamaForCausalLM expected, LlamaForCausalLM actual)
    {
        var loaded = actual.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(expected.named_parameters().Select(p => p.name).Order(), loaded.Keys.Order());
        foreach (var (name, p) in expected.named_parameters())
        {
            Assert.Equal(p.dtype, loaded[name].dtype);
            Assert.True(p.eq(loaded[name]).all().item<bool>(), name);
        }
    }

    [Theory]
    [InlineData("llama", false, false)]
    [InlineData("llama", true, true)]
    [InlineData("qwen2", true, false)]
    public void Save_then_load_is_exact(string modelType, bool tied, bool attentionBias)
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config(modelType, tied: tied, attentionBias: attentionBias));
        ModelFolder.Save(model, dir);
        var loaded = ModelFolder.Load(dir);

        Assert.Equal(model.Config, loaded.Config with { EosTokenIds = model.Config.EosTokenIds });
        Assert.Equal(model.Config.EosTokenIds, loaded.Config.EosTokenIds);
        AssertSameWeights(model, loaded);
        var tokens = TinyModels.RandomTokens(61, 1, 9);
        Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), loaded.Logits(loaded.ForwardTokens(tokens))));

        var names = SafeTensorsFile.Load(Path.Combine(dir, ModelFolder.WeightsFile)).Keys.ToHashSet();
        Assert.Equal(!tied, names.Contains("lm_head.weight"));
        Assert.Equal(modelType == "qwen2" || attentionBias, names.Contains("model.layers.1.self_attn.k_proj.bias"));
        Assert.Equal(attentionBias, names.Contains("model.layers.1.self_attn.o_proj.bias"));
    }

    [Fact]
    public void Dtype_is_recorded_and_converted_on_load()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        ModelFolder.Save(model, dir, ScalarType.BFloat16);
        Assert.Equal("bfloat16", LlamaConfig.Load(Path.Combine(dir, ModelFolder.ConfigFile)).TorchDtype);

        var asStored = ModelFolder.Load(dir);
        Assert.Equal(ScalarType.BFloat16, asStored.Dtype);
        var widened = ModelFolder.Load(dir, ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, widened.Dtype);
        var expected = model.named_parameters().First(p => p.name == "model.layers.0.mlp.up_proj.weight").parameter.to(ScalarType.BFloat16);
        var actual = widened.named_parameters().First(p => p.name == "model.layers.0.mlp.up_proj.weight").parameter;
        Assert.Equal(0, TinyModels.MaxAbsDiff(expected, actual));
    }

    [Fact]
    public void Sharded_checkpoint_loads_exactly_and_a_later_single_save_removes_the_shards()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        ModelFolder.Save(model, dir, maxShardBytes: 20_000);
        var shards = Directory.GetFiles(dir, "model-*-of-*.safetensors");
        Assert.True(shards.Length >= 3, $"expected several shards, got {shards.Length}");
        Assert.False(File.Exists(Path.Combine(dir, ModelFolder.WeightsFile)));
        AssertSameWeights(model, ModelFolder.Load(dir));

        ModelFolder.Save(model, dir);
        Assert.Empty(Directory.GetFiles(dir, "model-*-of-*.safetensors"));
        Assert.False(File.Exists(Path.Combine(dir, ModelFolder.IndexFile)));
        AssertSameWeights(model, ModelFolder.Load(dir));
    }

    [Fact]
    public void Index_naming_a_missing_shard_is_a_clear_error()
    {
        using var scope = NewDisposeScope();
        ModelFolder.Save(TinyModels.Create(TinyModels.Config()), dir, maxShardBytes: 20_000);
        File.Delete(Directory.GetFiles(dir, "model-00002-of-*.safetensors").Single());
        var error = Assert.Throws<SafeTensorsException>(() => ModelFolder.Load(dir));
        Assert.Contains("model-00002-of-", error.Message);
        Assert.Contains("is not a file in this folder", error.Message);
    }

    [Fact]
    public void Missing_unexpected_and_wrongly_shaped_tensors_are_listed_together()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        ModelFolder.Save(model, dir);
        string weights = Path.Combine(dir, ModelFolder.WeightsFile);
        var tensors = SafeTensorsFile.Load(weights);
        tensors.Remove("model.layers.1.mlp.down_proj.weight");
        tensors.Remove("model.norm.weight");
        tensors["model.layers.2.mlp.up_proj.weight"] = zeros(48, 32);
        tensors["model.layers.0.self_attn.q_proj.weight"] = zeros(32, 31);
        SafeTensorsFile.Save(weights, tensors);

        var error = Assert.Throws<SafeTensorsException>(() => ModelFolder.Load(dir));
        Assert.Contains("missing: model.layers.1.mlp.down_proj.weight, model.norm.weight", error.Message);
        Assert.Contains("unexpected: model.layers.2.mlp.up_proj.weight", error.Message);
        Assert.Contains("wrong shape: model.layers.0.self_attn.q_proj.weight (expected [32, 32], found [32, 31])", error.Message);
    }

    [Fact]
    public void Tied_checkpoint_may_carry_lm_head_and_lora_adapters_stay_out_of_the_base_checkpoint()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config(tied: true));
        using var compressor = new PicSharp.Compression.Compressor(model, new() { Lora = new() { Rank = 2 } });
        ModelFolder.Save(model, dir);
        string weights = Path.Combine(dir, ModelFolder.WeightsFile);
        var tensors = SafeTensorsFile.Load(weights);
        Assert.DoesNotContain(tensors.Keys, n => n.Contains(".lora_"));

        tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"].clone();
        SafeTensorsFile.Save(weights, tensors);
        var loaded = ModelFolder.Load(dir);
        Assert.Equal(0, TinyModels.MaxAbsDiff(model.Body.EmbedTokens.weight!, loaded.Body.EmbedTokens.weight!));
    }

    [Theory]
    [InlineData(float.NaN, "float32")]
    [InlineData(float.PositiveInfinity, "bfloat16")]
    public void Non_finite_weights_are_refused_at_load_naming_the_tensor(float bad, string dtype)
    {
        using var scope = NewDisposeScope();
        ModelFolder.Save(TinyModels.Create(TinyModels.Config()), dir, ModelFolder.ParseTorchDtype(dtype));
        string weights = Path.Combine(dir, ModelFolder.WeightsFile);
        var tensors = SafeTensorsFile.Load(weights);
        tensors["model.layers.1.mlp.up_proj.weight"][3, 4] = bad;
        SafeTensorsFile.Save(weights, tensors);
        var error = Assert.Throws<SafeTensorsException>(() => ModelFolder.Load(dir, ScalarType.Float32));
        Assert.Contains("tensor 'model.layers.1.mlp.up_proj.weight' holds NaN or infinite values", error.Message);
        Assert.Contains("tensor 'model.layers.1.mlp.up_proj.weight' holds NaN", Assert.Throws<SafeTensorsException>(() => ModelFolder.Load(dir)).Message);
    }

    [Fact]
    public void Folder_without_weights_is_a_clear_error()
    {
        File.WriteAllText(Path.Combine(dir, ModelFolder.ConfigFile), TinyModels.Config().ToJson());
        var error = Assert.Throws<FileNotFoundException>(() => ModelFolder.Load(dir));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", error.Message);
    }

    [Fact]
    public void Fingerprint_survives_a_round_trip_and_changes_with_the_weights()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        ModelFolder.Save(model, dir);
        string id = ModelFolder.Fingerprint(model);
        Assert.Equal(id, ModelFolder.Fingerprint(ModelFolder.Load(dir)));
        Assert.NotEqual(id, ModelFolder.Fingerprint(ModelFolder.Load(dir, ScalarType.BFloat16)));
        using (no_grad()) model.Body.EmbedTokens.weight![3, 3].add_(1e-4);
        Assert.NotEqual(id, ModelFolder.Fingerprint(model));
    }

    [Fact]
    public void Tokenizer_is_copied_from_a_folder_or_a_file()
    {
        string source = Directory.CreateDirectory(Path.Combine(dir, "source")).FullName;
        File.WriteAllText(Path.Combine(source, ModelFolder.TokenizerFile), "{\"model\":{}}");
        ModelFolder.CopyTokenizer(source, Path.Combine(dir, "a"));
        ModelFolder.CopyTokenizer(Path.Combine(source, ModelFolder.TokenizerFile), Path.Combine(dir, "b"));
        Assert.Equal("{\"model\":{}}", File.ReadAllText(Path.Combine(dir, "a", ModelFolder.TokenizerFile)));
        Assert.Equal("{\"model\":{}}", File.ReadAllText(Path.Combine(dir, "b", ModelFolder.TokenizerFile)));
        Assert.Throws<FileNotFoundException>(() => ModelFolder.CopyTokenizer(Path.Combine(dir, "nowhere"), Path.Combine(dir, "c")));
    }
}
