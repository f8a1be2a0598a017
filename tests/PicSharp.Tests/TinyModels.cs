using PicSharp.Modeling;
using TorchSharp;

namespace PicSharp.Tests;

/// <summary>Small random models for tests: big enough to exercise GQA, biases and several layers, fast on a CPU.</summary>
static class TinyModels
{
    public static LlamaConfig Config(string modelType = "llama", int kvHeads = 2, bool tied = false, bool attentionBias = false) => new()
    {
        ModelType = modelType,
        VocabSize = 61,
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = kvHeads,
        HeadDim = 8,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        MaxPositionEmbeddings = 512,
        TieWordEmbeddings = tied,
        AttentionBias = attentionBias,
        EosTokenIds = [2],
        BosTokenId = 1,
    };

    public static LlamaForCausalLM Create(LlamaConfig config, long seed = 7)
    {
        var model = new LlamaForCausalLM(config);
        model.InitializeWeights(seed);
        // Biases start at zero; randomise them so tests can see whether they are used.
        using (torch.no_grad())
        {
            var generator = new torch.Generator((ulong)seed + 1);
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith(".bias")) p.normal_(0, 0.1, generator);
        }
        model.eval();
        return model;
    }

    public static torch.Tensor RandomTokens(int vocab, long batch, long seq, long seed = 3) =>
        torch.randint(0, vocab, [batch, seq], dtype: torch.ScalarType.Int64, generator: new torch.Generator((ulong)seed));

    public static double MaxAbsDiff(torch.Tensor a, torch.Tensor b) =>
        (a.to(torch.ScalarType.Float64) - b.to(torch.ScalarType.Float64)).abs().max().item<double>();
}
