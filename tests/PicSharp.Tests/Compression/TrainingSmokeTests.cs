using PicSharp.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

public class TrainingSmokeTests
{
    static readonly int[][] Passages = RandomPassages();

    static int[][] RandomPassages()
    {
        var rng = new Random(5);
        return Enumerable.Range(0, 4).Select(_ => rng.GetItems(Enumerable.Range(3, 58).ToArray(), 16)).ToArray();
    }

    static (float First, float Last, Compressor Compressor) TrainAutoencoder(MemoryKind kind, int steps)
    {
        random.manual_seed(0);
        // A 0.02-init decoder cannot emit peaked logits (|logit| ≤ 0.02·d); a wider init gives it the range to reconstruct.
        var compressor = new Compressor(TinyModels.Create(TinyModels.Config() with { InitializerRange = 0.25 }),
            new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind, Lora = new() { Rank = 8, Alpha = 16 } }, seed: 3);
        var decoder = new MemoryDecoder(compressor);
        var optimizer = optim.AdamW(compressor.TrainableParameters(), lr: 1e-2);
        var losses = new List<float>();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var memory = compressor.Compress(Passages);
            var loss = decoder.Loss(memory, Passages.Select(p => new DecoderExample(TaskToken.Autoencode, [], p)).ToList()).Mean;
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        return (losses.Take(3).Average(), losses.TakeLast(3).Average(), compressor);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Autoencoding_loss_falls_clearly_within_a_few_dozen_steps(MemoryKind kind)
    {
        var (first, last, _) = TrainAutoencoder(kind, steps: 60);
        Assert.True(last < 0.5 * first, $"AE loss went from {first:F3} to {last:F3}");
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void After_training_each_passage_is_reconstructed_from_its_own_memory_not_from_another_ones(MemoryKind kind)
    {
        // A falling loss alone could be the memory tuning a prior that fits every passage; handing each passage another
        // passage's memory separates the two: only memory that carries its text is worth more matched than swapped.
        var (_, _, compressor) = TrainAutoencoder(kind, steps: 60);
        var decoder = new MemoryDecoder(compressor);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var memory = compressor.Compress(Passages);
        var examples = Passages.Select(p => new DecoderExample(TaskToken.Autoencode, [], p)).ToList();
        float matched = decoder.Loss(memory, examples).Mean.item<float>();
        float swapped = decoder.Loss(memory, examples, memoryRows: [1, 2, 3, 0]).Mean.item<float>();
        Assert.True(matched < 0.5 * swapped, $"AE loss from its own memory {matched:F3}, from another passage's {swapped:F3}");
    }

    [Fact]
    public void Base_weights_never_receive_gradients_while_adapters_and_memory_do()
    {
        var (_, _, compressor) = TrainAutoencoder(MemoryKind.Embeddings, steps: 1);
        foreach (var (name, p) in compressor.AdapterParameters().Concat(compressor.Model.named_parameters().Select(p => (p.name, p.parameter))))
        {
            // With B = 0 at the first step only B's gradient is non-zero; A's exists but is zero (dL/dA = Bᵀ·…).
            if (name.Contains(".lora_B")) Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
            else if (name.Contains(".lora_A")) Assert.NotNull(p.grad);
            else Assert.True(p.grad is null, $"frozen {name} received a gradient");
        }
        Assert.True(compressor.MemoryTokens.grad!.abs().sum().item<float>() > 0);
        Assert.True(compressor.TaskTokens.grad!.abs().sum().item<float>() > 0);
    }
}
