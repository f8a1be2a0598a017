using PicSharp.Compression;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

/// <summary>A compressor references its base model: several can share one loaded model, each with its own adapter.</summary>
public class SharedModelTests
{
    static readonly CompressorOptions Options = new() { Ratio = 4, ChunkLength = 8, Lora = new() { Rank = 4 } };
    static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    /// <summary>A compressor whose LoRA B matrices are random (seeded), so its adapter changes what it computes.</summary>
    static Compressor Randomized(LlamaForCausalLM model, ulong seed)
    {
        var compressor = new Compressor(model, Options, seed);
        using var _ = no_grad();
        var generator = new Generator(seed + 100);
        foreach (var (name, p) in compressor.AdapterParameters())
            if (name.Contains("lora_B")) p.normal_(0, 0.05, generator);
        return compressor;
    }

    static Tensor Compressed(Compressor compressor)
    {
        using var _ = no_grad();
        using var memory = compressor.Compress([Context]);
        return memory.Embeddings!.clone();
    }

    [Fact]
    public void Two_compressors_over_one_model_each_compute_what_they_compute_alone()
    {
        using var scope = NewDisposeScope();
        var shared = TinyModels.Create(TinyModels.Config());
        using var a = Randomized(shared, 1);
        using var b = Randomized(shared, 2);
        using var aloneA = Randomized(TinyModels.Create(TinyModels.Config()), 1);
        using var aloneB = Randomized(TinyModels.Create(TinyModels.Config()), 2);

        Assert.NotEqual(a.AdapterName, b.AdapterName);
        Assert.Equal(0, TinyModels.MaxAbsDiff(Compressed(a), Compressed(aloneA)));
        Assert.Equal(0, TinyModels.MaxAbsDiff(Compressed(b), Compressed(aloneB)));
        Assert.True(TinyModels.MaxAbsDiff(Compressed(a), Compressed(b)) > 1e-3);

        // The decoder runs the bare base model, whatever adapter the caller has selected around it.
        using var __ = no_grad();
        using var memory = a.Compress([Context]);
        DecoderExample[] example = [new(TaskToken.Autoencode, [], Context)];
        float alone = new MemoryDecoder(aloneA).Loss(memory, example).Mean.item<float>();
        using (shared.UseAdapter(b.AdapterName))
            Assert.Equal(alone, new MemoryDecoder(a).Loss(memory, example).Mean.item<float>());
    }

    [Fact]
    public void Compressors_sharing_a_model_may_run_at_the_same_time_on_different_threads()
    {
        using var scope = NewDisposeScope();
        var shared = TinyModels.Create(TinyModels.Config());
        using var a = Randomized(shared, 1);
        using var b = Randomized(shared, 2);
        var (expectedA, expectedB) = (Compressed(a), Compressed(b));
        // Each thread selects its own adapter; a selection made on one thread must never leak into the other's forward.
        double Worst(Compressor compressor, Tensor expected) => Enumerable.Range(0, 20).Max(_ =>
        {
            using var result = Compressed(compressor);
            return TinyModels.MaxAbsDiff(result, expected);
        });
        var worst = new double[2];
        var threads = new[] { new Thread(() => worst[0] = Worst(a, expectedA)), new Thread(() => worst[1] = Worst(b, expectedB)) };
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.Equal([0.0, 0.0], worst);
    }

    [Fact]
    public void Disposing_a_compressor_leaves_the_model_and_the_other_compressor_usable()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 1, 7);
        var baseLogits = model.Logits(model.ForwardTokens(tokens));
        var a = Randomized(model, 1);
        using var b = Randomized(model, 2);
        var before = Compressed(b);

        a.Dispose();
        Assert.All(model.Projections, p => Assert.DoesNotContain(a.AdapterName, p.Projection.Adapters.Keys));
        Assert.Equal(0, TinyModels.MaxAbsDiff(model.Logits(model.ForwardTokens(tokens)), baseLogits));
        Assert.Equal(0, TinyModels.MaxAbsDiff(Compressed(b), before));
        using var c = Randomized(model, 1); // a new compressor can take the freed place
        Assert.True(TinyModels.MaxAbsDiff(Compressed(c), before) > 1e-3);
    }

    [Fact]
    public void State_dict_holds_only_the_compressor_s_own_tensors_under_peft_names()
    {
        var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, Options with { Lora = new() { Rank = 4, TargetModules = ["q_proj", "down_proj"] } });
        var names = compressor.state_dict().Keys.Order(StringComparer.Ordinal).ToList();
        string[] expected =
        [
            "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
            "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight",
            "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
            "memory_tokens", "task_tokens",
        ];
        Assert.Equal(expected, names);
        Assert.Equal(expected.Length, compressor.TrainableParameters().Count);
    }

    [Fact]
    public void Converting_the_compressor_leaves_the_base_model_alone()
    {
        var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, Options);
        compressor.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float32, model.Dtype);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(compressor.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        using var _ = no_grad();
        using var memory = compressor.Compress([Context]);
        Assert.Equal(ScalarType.Float32, memory.Embeddings!.dtype);
    }
}
