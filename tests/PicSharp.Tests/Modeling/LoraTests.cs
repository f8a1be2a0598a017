using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public class LoraTests
{
    static void AttachEverywhere(LlamaForCausalLM model, int rank = 4)
    {
        foreach (var (_, projection) in model.Projections) projection.AttachLora(rank, alpha: 8, dropout: 0);
    }

    [Fact]
    public void Lora_at_initialisation_leaves_logits_unchanged()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 2, 8);
        var before = model.Logits(model.ForwardTokens(tokens));
        AttachEverywhere(model);
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
        AttachEverywhere(model);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.05, new Generator(11));

        var adapted = model.Logits(model.ForwardTokens(tokens));
        Assert.True(TinyModels.MaxAbsDiff(adapted, baseLogits) > 1e-3);
        using (model.AdaptersEnabled(false))
            Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), baseLogits));
        Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), adapted));

        foreach (var (_, projection) in model.Projections) projection.MergeLora();
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("lora"));
        Assert.True(TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), adapted) < 1e-5);
    }

    [Fact]
    public void Adapter_parameters_have_peft_names()
    {
        var model = TinyModels.Create(TinyModels.Config());
        AttachEverywhere(model);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("model.layers.1.mlp.down_proj.lora_B.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", names);
    }
}
