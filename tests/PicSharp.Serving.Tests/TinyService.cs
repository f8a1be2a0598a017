using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.LlamaCpp;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using PicSharp.Tests;
using static TorchSharp.torch;

namespace PicSharp.Serving.Tests;

/// <summary>
/// A tiny random model folder (with a BPE tokenizer trained on a few sentences) and a random compressor folder for
/// it, made once per test run: answers are gibberish, but every path from text to tokens to memory to answer is real.
/// </summary>
public sealed class TinyService : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pic-serve-").FullName;
    public string ModelDir => Path.Combine(Root, "model");
    public string CompressorDir => Path.Combine(Root, "compressor");
    /// <summary>A second compressor for the same model (other seed): its memories are foreign to the first.</summary>
    public string OtherCompressorDir => Path.Combine(Root, "other-compressor");

    public const string Passage = "The lighthouse keeper Marta Olsen painted the tower red in 1921. She kept a cat named Pepper, " +
        "and every winter she rowed to the mainland for flour, lamp oil and letters.";

    public TinyService()
    {
        set_num_threads(1); // as `pic serve --threads 1`: one-token steps gain nothing from a second thread on a busy machine
        var texts = Enumerable.Range(0, 30).Select(i => $"{Passage} Question: who kept the lighthouse {i}? Answer: Marta\n");
        var tokenizer = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 300 });
        var config = TinyModels.Config() with
        {
            VocabSize = 320, MaxPositionEmbeddings = 384,
            BosTokenId = tokenizer.BosTokenId, EosTokenIds = tokenizer.EosTokenId is int eos ? [eos] : [],
        };
        using (var model = TinyModels.Create(config))
            ModelFolder.Save(model, ModelDir);
        tokenizer.Save(Path.Combine(ModelDir, ModelFolder.TokenizerFile));
        SaveCompressor(CompressorDir, seed: 5);
        SaveCompressor(OtherCompressorDir, seed: 6);
    }

    void SaveCompressor(string dir, ulong seed)
    {
        using var scope = NewDisposeScope();
        var model = ModelFolder.Load(ModelDir);
        var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 16, Policy = MaskPolicy.Pic }, seed);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.05, new Generator(seed));
        CompressorFolder.Save(compressor, dir, "tiny");
        model.Dispose();
    }

    public PicEngine OpenEngine(string? compressorDir = null, int? maxContextTokens = null, AnswererFactory? answerer = null) =>
        PicEngine.Open(ModelDir, compressorDir ?? CompressorDir, maxContextTokens: maxContextTokens, answerer: answerer);

    /// <summary>The engine with answers decoded on llama.cpp (the model's fp32 export, cached beside the folder),
    /// <paramref name="sequences"/> questions at once, as `pic serve --engine llamacpp --max-batch N` opens it.</summary>
    public PicEngine OpenLlamaCppEngine(int sequences) => OpenEngine(answerer: (model, tokenizer, compressor) =>
        LlamaCppAnswerer.Open(ModelDir, null, model, tokenizer, compressor, new LlamaCppOptions { Threads = 1, Sequences = sequences }));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[CollectionDefinition(nameof(TinyService))]
public sealed class TinyServiceCollection : ICollectionFixture<TinyService>;
