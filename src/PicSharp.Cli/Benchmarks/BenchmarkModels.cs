using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Cli.Benchmarks;

/// <summary>The model every benchmark runs: a ~32M-parameter Llama shape, randomly initialised.</summary>
public static class BenchmarkModels
{
    public static LlamaConfig Reference { get; } = new()
    {
        ModelType = "llama",
        VocabSize = 8192,
        HiddenSize = 512,
        IntermediateSize = 1408,
        NumHiddenLayers = 8,
        NumAttentionHeads = 8,
        NumKeyValueHeads = 4,
        HeadDim = 64,
        MaxPositionEmbeddings = 16384,
        TieWordEmbeddings = false,
    };

    public static LlamaForCausalLM Create(ScalarType dtype, long seed = 0)
    {
        var model = new LlamaForCausalLM(Reference);
        model.InitializeWeights(seed);
        model.to(dtype);
        return model;
    }

    public static long ParameterCount(LlamaForCausalLM model) => model.parameters().Sum(p => p.numel());

    public static Tensor RandomTokens(long batch, long length, long seed = 1) =>
        randint(0, Reference.VocabSize, [batch, length], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));
}
