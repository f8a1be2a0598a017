using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

/// <summary>The decoder-side adapter (a labelled deviation from the paper's frozen decoder) and the memory init.</summary>
public sealed class DecoderAdapterTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-decoder-adapter-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];
    static readonly DecoderExample[] Examples = [new(TaskToken.Answer, [5, 6], [7, 8, 9]), new(TaskToken.Autoencode, [], Context)];

    static CompressorOptions Options(MemoryKind kind, bool decoderAdapter) => new()
    {
        Ratio = 4, ChunkLength = 8, Kind = kind, Lora = new LoraOptions { Rank = 3, Alpha = 6, TargetModules = ["q_proj", "v_proj", "down_proj"] },
        DecoderLora = decoderAdapter ? new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["q_proj", "o_proj", "up_proj"] } : null,
    };

    /// <summary>Compressor LoRA B random (seeded), so both adapters change what they compute.</summary>
    static Compressor Make(LlamaForCausalLM model, MemoryKind kind, bool decoderAdapter, bool trainedDecoder)
    {
        var compressor = new Compressor(model, Options(kind, decoderAdapter), seed: 5);
        using (no_grad())
        {
            var generator = new Generator(9);
            foreach (var (_, p) in compressor.AdapterParameters().Where(p => p.Name.Contains("lora_B"))) p.normal_(0, 0.05, generator);
            if (trainedDecoder)
                foreach (var (_, p) in compressor.DecoderAdapterParameters().Where(p => p.Name.Contains("lora_B"))) p.normal_(0, 0.2, generator);
        }
        return compressor;
    }

    static double Loss(MemoryDecoder decoder, CompressedMemory memory) =>
        decoder.Loss(memory, Examples, [0, 0]).Mean.item<float>();

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void A_new_decoder_adapter_leaves_the_compressor_and_the_decoder_as_they_were(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = TinyModels.Create(TinyModels.Config());
        var frozen = Make(model, kind, decoderAdapter: false, trainedDecoder: false);
        var adapted = Make(model, kind, decoderAdapter: true, trainedDecoder: false);

        // Drawn after everything else, so the same seed starts the compressor at the same point.
        Assert.Equal(0, TinyModels.MaxAbsDiff(frozen.MemoryTokens, adapted.MemoryTokens));
        Assert.All(frozen.AdapterParameters().Zip(adapted.AdapterParameters()), p => Assert.Equal(0, TinyModels.MaxAbsDiff(p.First.Parameter, p.Second.Parameter)));
        Assert.Empty(frozen.DecoderAdapterParameters());
        Assert.Null(frozen.DecoderAdapterName);
        Assert.Equal(2 * 3 * 2, adapted.DecoderAdapterParameters().Count()); // 2 layers × 3 targets × (A, B)
        // B starts at zero: the adapted decoder reads memory exactly as the frozen one does until it trains.
        var memory = adapted.Compress([Context]);
        Assert.Equal(Loss(new MemoryDecoder(frozen), memory), Loss(new MemoryDecoder(adapted), memory));
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void The_decoder_adapter_runs_only_while_the_decoder_reads_memory(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = TinyModels.Create(TinyModels.Config());
        var ids = tensor(Context.Select(i => (long)i).ToArray()).unsqueeze(0);
        var baseLogits = model.Logits(model.Forward(model.Embed(ids)));
        var frozen = Make(model, kind, decoderAdapter: false, trainedDecoder: false);
        var adapted = Make(model, kind, decoderAdapter: true, trainedDecoder: true);

        var memory = frozen.Compress([Context]);
        var adaptedMemory = adapted.Compress([Context]);
        Assert.Equal(0, MemoryDifference(memory, adaptedMemory)); // compressing never runs the decoder's adapter
        Assert.True(new MemoryDecoder(adapted).HasAdapter);
        Assert.NotEqual(Loss(new MemoryDecoder(frozen), memory), Loss(new MemoryDecoder(adapted), memory));
        Assert.Equal(Loss(new MemoryDecoder(frozen), memory), Loss(MemoryDecoder.Frozen(adapted), memory));
        // Outside the decoder (the full-context and no-context modes) the model is the base model.
        Assert.Equal(0, TinyModels.MaxAbsDiff(baseLogits, model.Logits(model.Forward(model.Embed(ids)))));

        // Generating from memory runs the adapter too (seen from inside, as each token is chosen), and only then.
        var options = new GenerationOptions { MaxNewTokens = 3 };
        var projection = model.Projections.First().Projection;
        var selected = new List<string?>();
        new MemoryDecoder(adapted).Generate(memory, TaskToken.Answer, [5, 6], options, onToken: _ => selected.Add(projection.ActiveAdapter));
        Assert.NotEmpty(selected);
        Assert.All(selected, name => Assert.Equal(adapted.DecoderAdapterName, name));
        Assert.Null(projection.ActiveAdapter);
        Assert.Equal(new MemoryDecoder(frozen).Generate(memory, TaskToken.Answer, [5, 6], options).Tokens,
            MemoryDecoder.Frozen(adapted).Generate(memory, TaskToken.Answer, [5, 6], options).Tokens);
    }

    static double MemoryDifference(CompressedMemory a, CompressedMemory b) => a.Kind == MemoryKind.Embeddings
        ? TinyModels.MaxAbsDiff(a.Embeddings!, b.Embeddings!)
        : a.KeyValues!.Zip(b.KeyValues!).Sum(p => TinyModels.MaxAbsDiff(p.First.Keys, p.Second.Keys) + TinyModels.MaxAbsDiff(p.First.Values, p.Second.Values));

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void A_folder_keeps_the_decoder_adapter_as_a_second_peft_adapter_and_labels_it(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var original = Make(TinyModels.Create(TinyModels.Config()), kind, decoderAdapter: true, trainedDecoder: true);
        CompressorFolder.Save(original, dir, "tiny-base");
        var loaded = CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir);

        Assert.Equal(CompressorFolder.Fingerprint(original), CompressorFolder.Fingerprint(loaded));
        Assert.Equal(["q_proj", "o_proj", "up_proj"], loaded.Options.DecoderLora!.TargetModules);
        Assert.Equal((2, 4.0), (loaded.Options.DecoderLora.Rank, loaded.Options.DecoderLora.Alpha));
        var memory = loaded.Compress([Context]);
        Assert.Equal(Loss(new MemoryDecoder(original), memory), Loss(new MemoryDecoder(loaded), memory));

        string decoderDir = Path.Combine(dir, CompressorFolder.DecoderAdapterDir);
        var names = SafeTensorsFile.Load(Path.Combine(decoderDir, PeftAdapter.WeightsFile)).Keys.ToHashSet();
        Assert.Contains("base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight", names);
        Assert.Equal(2 * 3 * 2, names.Count);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(decoderDir, PeftAdapter.ConfigFile)))!;
        Assert.Equal(("LORA", 2, "tiny-base"), (config["peft_type"]!.GetValue<string>(), config["r"]!.GetValue<int>(), config["base_model_name_or_path"]!.GetValue<string>()));
        var entry = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, CompressorFolder.OptionsFile)))!["decoder_adapter"]!;
        Assert.Equal("decoder", entry["path"]!.GetValue<string>());
        Assert.Equal("decoder adapter rank 2 (deviation: the paper's decoder is frozen)", entry["label"]!.GetValue<string>());
        Assert.Equal(entry["label"]!.GetValue<string>(), loaded.Options.DecoderLabel);
    }

    [Fact]
    public void A_folder_without_a_decoder_adapter_is_what_it_was_before()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = TinyModels.Create(TinyModels.Config());
        var frozen = Make(model, MemoryKind.Embeddings, decoderAdapter: false, trainedDecoder: false);
        CompressorFolder.Save(frozen, dir);

        Assert.False(Directory.Exists(Path.Combine(dir, CompressorFolder.DecoderAdapterDir)));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, CompressorFolder.OptionsFile)))!.AsObject();
        Assert.Equal(["chunk_length", "fast_path", "format", "kind", "placement", "policy", "positions", "ratio", "version"], json.Select(p => p.Key).Order());
        var loaded = CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir);
        Assert.Null(loaded.Options.DecoderLora);
        Assert.Null(loaded.DecoderAdapterName);
        Assert.False(new MemoryDecoder(loaded).HasAdapter);
        Assert.Equal("frozen decoder (as in the paper)", loaded.Options.DecoderLabel);
        Assert.Equal(CompressorFolder.Fingerprint(frozen), CompressorFolder.Fingerprint(loaded));
        // Its twin with an (untrained) decoder adapter is another compressor, with another id.
        Assert.NotEqual(CompressorFolder.Fingerprint(frozen), CompressorFolder.Fingerprint(Make(model, MemoryKind.Embeddings, decoderAdapter: true, trainedDecoder: false)));
    }

    public static TheoryData<string, string> BadDecoderAdapters => new()
    {
        { "rank-mismatch", "decoder/adapter_model.safetensors: the adapter does not fit the model; wrong shape: " },
        { "no-folder", "decoder/adapter_config.json not found" },
        { "bad-entry", "'decoder_adapter' must be {\"path\": \"decoder\", …}, found \"yes\"" },
        { "bad-config", "decoder/adapter_config.json: not valid JSON" },
        { "truncated-weights", "decoder/adapter_model.safetensors: header length" },
    };

    [Theory]
    [MemberData(nameof(BadDecoderAdapters))]
    public void A_corrupt_or_mismatched_decoder_adapter_is_a_clear_error(string kind, string expected)
    {
        using var scope = NewDisposeScope();
        CompressorFolder.Save(Make(TinyModels.Create(TinyModels.Config()), MemoryKind.Embeddings, decoderAdapter: true, trainedDecoder: true), dir);
        string decoderDir = Path.Combine(dir, CompressorFolder.DecoderAdapterDir);
        string config = Path.Combine(decoderDir, PeftAdapter.ConfigFile), weights = Path.Combine(decoderDir, PeftAdapter.WeightsFile);
        switch (kind)
        {
            case "rank-mismatch": CompressorFolderTests.EditJson(config, c => c["r"] = 5); break;
            case "no-folder": Directory.Delete(decoderDir, recursive: true); break;
            case "bad-entry": CompressorFolderTests.EditJson(Path.Combine(dir, CompressorFolder.OptionsFile), c => c["decoder_adapter"] = "yes"); break;
            case "bad-config": File.WriteAllText(config, "{ r: "); break;
            case "truncated-weights": File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..40]); break;
        }
        var error = Assert.ThrowsAny<Exception>(() => CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir));
        Assert.True(error is InvalidDataException or FileNotFoundException or SafeTensorsException, error.GetType().Name + ": " + error.Message);
        Assert.Contains(expected.Replace('/', Path.DirectorySeparatorChar), error.Message);
    }

    [Fact]
    public void Vocab_mean_memory_starts_near_the_vocabularys_mean_embedding_and_random_at_its_spread()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var vocabulary = model.Body.EmbedTokens.weight!.to(ScalarType.Float32);
        var mean = vocabulary.mean([0]);
        double spread = vocabulary.std().item<float>();
        var options = Options(MemoryKind.Embeddings, decoderAdapter: false);
        using var vocabMean = new Compressor(model, options, seed: 3, MemoryInit.VocabMean);
        using var random = new Compressor(model, options, seed: 3, MemoryInit.Random);

        foreach (var tokens in new[] { vocabMean.MemoryTokens, vocabMean.TaskTokens })
        {
            Assert.True(tokens.is_leaf && tokens.requires_grad, "the start must not hang on the vocabulary's graph, or it would not train");
            double offset = (tokens.detach() - mean).std().item<float>();
            Assert.InRange(offset, 0.05 * spread, 0.2 * spread); // the noise: a tenth of the spread
            Assert.True(TinyModels.MaxAbsDiff(tokens[0], tokens[1]) > 0, "the slots start apart");
        }
        Assert.InRange((random.MemoryTokens.detach() - mean).std().item<float>(), 0.5 * spread, 2 * spread);
        // The compressor's adapters start alike: the init only changes the embeddings.
        Assert.All(vocabMean.AdapterParameters().Zip(random.AdapterParameters()), p => Assert.Equal(0, TinyModels.MaxAbsDiff(p.First.Parameter, p.Second.Parameter)));
    }
}
