using PicSharp.Compression;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public class LoraTests
{
    const string Name = "test";

    /// <summary>An adapter named "test" on every projection; the adapters are returned because the caller owns them.</summary>
    static List<LoraAdapter> AttachEverywhere(LlamaForCausalLM model, int rank = 4)
    {
        var adapters = new List<LoraAdapter>();
        foreach (var (_, projection) in model.Projections)
        {
            var adapter = new LoraAdapter(projection.InFeatures, projection.OutFeatures, rank, alpha: 8, dropout: 0);
            projection.AttachAdapter(Name, adapter);
            adapters.Add(adapter);
        }
        return adapters;
    }

    [Fact]
    public void Lora_at_initialisation_leaves_logits_unchanged()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 2, 8);
        var before = model.Logits(model.ForwardTokens(tokens));
        AttachEverywhere(model);
        using var adapter = model.UseAdapter(Name);
        var after = model.Logits(model.ForwardTokens(tokens));
        Assert.Equal(0, TinyModels.MaxAbsDiff(before, after));
    }

    [Fact]
    public void Trained_adapter_changes_output_only_while_enabled_and_merge_reproduces_it()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 2, 8);
        var baseLogits = model.Logits(model.ForwardTokens(tokens));
        var adapters = AttachEverywhere(model);
        using (no_grad())
            foreach (var adapter in adapters) adapter.B.normal_(0, 0.05, new Generator(11));

        using var selected = model.UseAdapter(Name);
        var adapted = model.Logits(model.ForwardTokens(tokens));
        Assert.True(TinyModels.MaxAbsDiff(adapted, baseLogits) > 1e-3);
        using (model.UseAdapter(null))
            Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), baseLogits));
        Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), adapted));

        foreach (var (_, projection) in model.Projections) projection.MergeAdapter(Name);
        Assert.All(model.Projections, p => Assert.Empty(p.Projection.Adapters));
        Assert.True(TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), adapted) < 1e-5);
    }

    [Fact]
    public void Adapter_parameters_have_peft_names()
    {
        using var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), new CompressorOptions { Lora = new() { Rank = 4 } });
        var names = compressor.state_dict().Keys.ToHashSet();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", compressor.Model.named_parameters().Select(p => p.name));
    }
}
