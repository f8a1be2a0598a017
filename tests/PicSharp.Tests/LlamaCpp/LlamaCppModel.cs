using PicSharp.Compression;
using PicSharp.LlamaCpp;
using PicSharp.Modeling;
using PicSharp.Tests.Data;
using PicSharp.Tests.Gguf;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Tests.LlamaCpp;

/// <summary>
/// A random tiny fp32 model folder with the bundled tokenizer, its untrained compressor (costs and reads like a
/// trained one) and its fp32 GGUF export, written once for the llama.cpp engine tests: what both engines answer from.
/// </summary>
public sealed class LlamaCppModel : IDisposable
{
    readonly TempDirectory temp = new();

    public static LlamaConfig Config => new()
    {
        ModelType = "llama",
        VocabSize = 4096, // the bundled tokenizer's
        HiddenSize = 64,
        IntermediateSize = 96,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
        MaxPositionEmbeddings = 256,
        BosTokenId = 4093,
        EosTokenIds = [4094],
        InitializerRange = 0.1, // peaked logits: greedy choices are not near-ties that float rounding could flip
    };

    public static readonly string[] Contexts =
    [
        "Mira Kelvane was born in Dorport in 1961 and works as a baker in the old town by the river, where she opened her first shop.",
        "The Strand Company was founded in 1921 by Otto Brael, who sold lamps and clocks from a cart before he had a shop.",
    ];

    public static readonly string[] Questions = ["Where was Mira born?", "What does Mira do?", "Who founded the company?", "When was it founded?"];

    public string ModelDir { get; }
    public string Gguf { get; }
    public LlamaForCausalLM Model { get; }
    public TextTokenizer Tokenizer { get; }
    public Compressor Compressor { get; }

    public LlamaCppModel()
    {
        ModelDir = temp.File("tiny");
        using (var scope = NewDisposeScope())
        using (var random = TinyModels.Create(Config))
            ModelFolder.Save(random, ModelDir);
        ModelFolder.CopyTokenizer(GgufExportTests.BundledModel, ModelDir);
        Model = ModelFolder.Load(ModelDir, ScalarType.Float32);
        Model.eval();
        Tokenizer = TextTokenizer.Load(Path.Combine(ModelDir, ModelFolder.TokenizerFile));
        Compressor = new Compressor(Model, new CompressorOptions { Ratio = 4, ChunkLength = 16 }, seed: 3);
        Compressor.eval();
        Gguf = GgufCache.Ensure(ModelDir, PicSharp.Gguf.GgmlType.F32);
    }

    /// <summary>The compressed memories of <see cref="Contexts"/>, one row each (the caller disposes it).</summary>
    public CompressedMemory Memories()
    {
        using var _ = no_grad();
        return Compressor.Compress(Contexts.Select(c => Tokenizer.EncodeText(c)).ToList());
    }

    public LlamaCppAnswerer Open(LlamaCppOptions? options = null, Compressor? compressor = null) =>
        LlamaCppAnswerer.Open(ModelDir, Gguf, Model, Tokenizer, compressor ?? Compressor, options ?? new LlamaCppOptions { Threads = 1, Sequences = 4 });

    public void Dispose()
    {
        Compressor.Dispose();
        Model.Dispose();
        temp.Dispose();
    }
}
