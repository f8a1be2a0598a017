using System.Text.Json.Nodes;
using PicSharp.Compression;
using PicSharp.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

public sealed class CompressorFolderTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-compressor-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    /// <summary>A compressor whose LoRA B matrices are random, so the adapters change what it computes.</summary>
    internal static Compressor Trained(MemoryKind kind = MemoryKind.Embeddings, string[]? targets = null)
    {
        var options = new CompressorOptions
        {
            Ratio = 4, ChunkLength = 8, Kind = kind, Placement = MemoryPlacement.Appended, Positions = MemoryPositions.Uniform,
            Lora = new LoraOptions { Rank = 3, Alpha = 6, TargetModules = targets ?? ["q_proj", "v_proj", "down_proj"] },
        };
        var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), options, seed: 5);
        using (no_grad())
            foreach (var (name, p) in compressor.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.05, new Generator(9));
        return compressor;
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Round_trip_gives_identical_outputs_and_fingerprint(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var original = Trained(kind);
        CompressorFolder.Save(original, dir, "tiny-base");
        var loaded = CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir);

        Assert.Equal(original.Options, loaded.Options with { Lora = original.Options.Lora });
        Assert.Equal(original.Options.Lora.TargetModules, loaded.Options.Lora.TargetModules);
        Assert.Equal(CompressorFolder.Fingerprint(original), CompressorFolder.Fingerprint(loaded));
        using var a = original.Compress([Context]);
        using var b = loaded.Compress([Context]);
        if (kind == MemoryKind.Embeddings) Assert.Equal(0, TinyModels.MaxAbsDiff(a.Embeddings!, b.Embeddings!));
        else
            foreach (var (x, y) in a.KeyValues!.Zip(b.KeyValues!))
                Assert.Equal(0, TinyModels.MaxAbsDiff(x.Keys, y.Keys) + TinyModels.MaxAbsDiff(x.Values, y.Values));
    }

    [Fact]
    public void Files_use_peft_names_and_config_keys()
    {
        using var scope = NewDisposeScope();
        CompressorFolder.Save(Trained(), dir, "tiny-base");
        var names = SafeTensorsFile.Load(Path.Combine(dir, PeftAdapter.WeightsFile)).Keys.ToHashSet();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", names);
        Assert.Equal(2 * 2 * 3, names.Count); // 2 layers × 3 targets × (A, B)

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapter.ConfigFile)))!;
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal("CAUSAL_LM", config["task_type"]!.GetValue<string>());
        Assert.Equal("tiny-base", config["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(3, config["r"]!.GetValue<int>());
        Assert.Equal(6, config["lora_alpha"]!.GetValue<double>());
        Assert.Equal("none", config["bias"]!.GetValue<string>());
        Assert.Equal(["q_proj", "v_proj", "down_proj"], config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["memory_tokens", "task_tokens"], SafeTensorsFile.Load(Path.Combine(dir, CompressorFolder.EmbeddingsFile)).Keys.Order());
    }

    [Fact]
    public void Fingerprint_changes_with_any_weight_or_option()
    {
        using var scope = NewDisposeScope();
        var compressor = Trained();
        string before = CompressorFolder.Fingerprint(compressor);
        Assert.Equal(16, before.Length);
        using (no_grad()) compressor.MemoryTokens[0, 0].add_(1e-3);
        Assert.NotEqual(before, CompressorFolder.Fingerprint(compressor));
        Assert.NotEqual(CompressorFolder.Fingerprint(Trained(targets: ["q_proj", "v_proj", "up_proj"])), CompressorFolder.Fingerprint(Trained()));
    }

    [Fact]
    public void A_folder_with_the_retired_decoder_adapter_is_refused_in_one_line_naming_it()
    {
        using var scope = NewDisposeScope();
        CompressorFolder.Save(Trained(), dir);
        // compressor.json as PicSharp wrote it for a compressor with a decoder adapter, before the adapter was retired.
        EditJson(Path.Combine(dir, CompressorFolder.OptionsFile), c =>
            c["decoder_adapter"] = new JsonObject { ["path"] = "decoder", ["label"] = "decoder adapter rank 8 (deviation: the paper's decoder is frozen)" });

        foreach (var read in new Action[] { () => CompressorFolder.ReadOptions(dir), () => CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir) })
        {
            string message = Assert.Throws<InvalidDataException>(read).Message;
            Assert.Equal($"{dir}: the compressor has a decoder adapter ('decoder_adapter' in compressor.json), a deviation from the paper that " +
                "PicSharp no longer reads; train it again without one, or read it with PicSharp at tag decoder-adapter-final", message);
        }
    }

    static void EditJson(string path, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(root);
        File.WriteAllText(path, root.ToJsonString());
    }

    public static TheoryData<string, string> BadFolders => new()
    {
        { "peft-type", "peft_type 'PREFIX_TUNING' is not supported" },
        { "rslora", "'use_rslora' = true is not supported" },
        { "unknown-target", "unknown target module(s) lm_head" },
        { "rank-mismatch", "wrong shape: base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight (expected [4, 32], found [3, 32])" },
        { "missing-targets", "missing: base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight" },
        { "bad-policy", "unknown mask policy 'diagonal'" },
        { "bad-kind", "field 'kind' = 'hidden' is not one of embeddings, key-values" },
        { "bad-ratio", "compressor.json: chunk length 8 is not a multiple of ratio 3" },
        { "memory-slots", "memory_tokens (expected [4, 32], found [2, 32])" },
        { "no-options", "compressor.json not found" },
    };

    [Theory]
    [MemberData(nameof(BadFolders))]
    public void Bad_folders_are_clear_errors(string kind, string expected)
    {
        using var scope = NewDisposeScope();
        CompressorFolder.Save(Trained(), dir);
        string adapter = Path.Combine(dir, PeftAdapter.ConfigFile), options = Path.Combine(dir, CompressorFolder.OptionsFile);
        switch (kind)
        {
            case "peft-type": EditJson(adapter, c => c["peft_type"] = "PREFIX_TUNING"); break;
            case "rslora": EditJson(adapter, c => c["use_rslora"] = true); break;
            case "unknown-target": EditJson(adapter, c => c["target_modules"] = new JsonArray("q_proj", "lm_head")); break;
            case "rank-mismatch": EditJson(adapter, c => c["r"] = 4); break;
            case "missing-targets": EditJson(adapter, c => c["target_modules"] = new JsonArray("q_proj", "k_proj", "v_proj", "down_proj")); break;
            case "bad-policy": EditJson(options, c => c["policy"] = "diagonal"); break;
            case "bad-kind": EditJson(options, c => c["kind"] = "hidden"); break;
            case "bad-ratio": EditJson(options, c => c["ratio"] = 3); break;
            case "memory-slots": EditJson(options, c => c["chunk_length"] = 16); break;
            case "no-options": File.Delete(options); break;
        }
        var error = Assert.ThrowsAny<Exception>(() => CompressorFolder.Load(TinyModels.Create(TinyModels.Config()), dir));
        Assert.True(error is InvalidDataException or FileNotFoundException, error.GetType().Name);
        Assert.Contains(expected, error.Message);
    }
}
