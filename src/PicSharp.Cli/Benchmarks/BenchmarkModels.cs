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

    /// <summary>
    /// The reference model (fp32, seed 0: the weights <see cref="Create"/> gives) as a model folder in
    /// <paramref name="parent"/>, with the bundled model's tokenizer (its 4,096 tokens fill the first rows of the 8,192;
    /// a GGUF carries a vocabulary): what llama.cpp runs when a benchmark decodes the reference model on it.
    /// </summary>
    public static string SaveReference(string parent)
    {
        string dir = Path.Combine(parent, "reference");
        using (var model = Create(ScalarType.Float32)) ModelFolder.Save(model, dir);
        ModelFolder.CopyTokenizer(BundledModels.Locate().Model, dir);
        return dir;
    }

    public static long ParameterCount(LlamaForCausalLM model) => model.parameters().Sum(p => p.numel());

    /// <param name="vocab">ids are drawn below it (default: the reference model's vocabulary).</param>
    public static Tensor RandomTokens(long batch, long length, long seed = 1, int? vocab = null) =>
        randint(0, vocab ?? Reference.VocabSize, [batch, length], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));
}
