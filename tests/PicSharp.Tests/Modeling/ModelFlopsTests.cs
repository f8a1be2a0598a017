using PicSharp.Modeling;

namespace PicSharp.Tests.Modeling;

public class ModelFlopsTests
{
    [Fact]
    public void Forward_flops_equal_a_hand_count_for_the_tiny_config()
    {
        // hidden 32, intermediate 48, 2 layers, 4 heads, 2 KV heads, head_dim 8, vocab 61.
        // Per layer: q 32·32 + k 32·16 + v 32·16 + o 32·32 = 3072, MLP 3·32·48 = 4608; LM head 32·61 = 1952.
        long matmulParameters = 2 * (3072 + 4608) + 1952;
        var config = TinyModels.Config();
        Assert.Equal(matmulParameters, ModelFlops.MatmulParameters(config));

        // 3 tokens, no cache: queries see 1 + 2 + 3 = 6 keys; each (query, key) pair costs 2·8 for QKᵀ and 2·8 for
        // attention·V, per head and layer.
        double attention = 6 * 32 * 4 * 2;
        Assert.Equal(2.0 * matmulParameters * 3 + attention, ModelFlops.Forward(config, batch: 1, sequence: 3));
        // One new token after 2 cached: it sees 3 keys. Batch multiplies everything.
        Assert.Equal(5 * (2.0 * matmulParameters + 3 * 32 * 4 * 2), ModelFlops.Forward(config, batch: 5, sequence: 1, past: 2));
        Assert.Equal(3 * ModelFlops.Forward(config, 2, 7), ModelFlops.ForwardBackward(config, 2, 7));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Matmul_parameters_equal_the_models_matrices_apart_from_the_input_embedding(bool tied)
    {
        var config = TinyModels.Config(tied: tied) with { NumHiddenLayers = 3, IntermediateSize = 40 };
        using var model = new LlamaForCausalLM(config);
        // Every 2-D weight is a matmul except embed_tokens, which is a lookup — unless tied, when it is also the LM head.
        long matrices = model.named_parameters()
            .Where(p => p.parameter.dim() == 2 && (tied || !p.name.Contains("embed_tokens")))
            .Sum(p => p.parameter.numel());
        Assert.Equal(matrices, ModelFlops.MatmulParameters(config));
    }
}
