using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Modeling;

namespace PicSharp.Tests.CompressorTraining;

public sealed class CompressorFlopsTests
{
    // TinyModels.Config(): hidden 32, intermediate 48, 2 layers, 4 heads, 2 KV heads, head_dim 8, vocab 61.
    // Projections per layer: q 32·32 + k 32·16 + v 32·16 + o 32·32 + MLP 3·32·48 = 7680, so W = 15360; LM head 32·61 = 1952.
    // attn(pairs) = 4 · 2 layers · 4 heads · 8 · pairs = 256 · pairs.
    static readonly LlamaConfig Config = TinyModels.Config();

    static CompressorOptions Options(MaskPolicy policy = MaskPolicy.Pic, MemoryKind kind = MemoryKind.Embeddings) => new()
    {
        Ratio = 4, ChunkLength = 8, Policy = policy, Kind = kind,
        Lora = new LoraOptions { Rank = 2, TargetModules = ["q_proj", "down_proj"] },
    };

    [Fact]
    public void Lora_weights_per_token_equal_rank_times_in_plus_out_of_each_adapted_projection()
    {
        // q 32 → 32: 64; down 48 → 32: 80; rank 2, 2 layers.
        Assert.Equal(2 * 2 * (64 + 80), CompressorFlops.LoraMatmulParameters(Config, Options().Lora));
        // All seven: q 64, k 48, v 48, o 64, gate 80, up 80, down 80.
        Assert.Equal(2 * 8 * 464, CompressorFlops.LoraMatmulParameters(Config, new LoraOptions { Rank = 8 }));
    }

    [Fact]
    public void Attended_pairs_follow_the_policy_mask()
    {
        // 12 context tokens, chunks of 8: chunk 0 has 8 text + 2 memory tokens, chunk 1 has 4 text + 1 memory.
        // pic: each chunk is causal over its own 10 and 5 slots: 10·11/2 + 5·6/2 = 70.
        Assert.Equal(70, new CompressorFlops(Config, Options()).CompressorPairs(12));
        // global: text causal over all 12 (78); memory token j sees all 12 text and memory 0..j: 13 + 14 + 15 = 42.
        Assert.Equal(120, new CompressorFlops(Config, Options(MaskPolicy.Global)).CompressorPairs(12));
    }

    [Fact]
    public void A_step_counts_compressor_forward_and_backward_and_the_frozen_decoder_by_hand()
    {
        var flops = new CompressorFlops(Config, Options());
        // Compressor over S = 12 + 3 = 15 slots, LoRA A = 576, 70 pairs:
        // forward 2·(W + A)·S + attn, backward 2·W·S (input gradients of frozen weights) + 4·A·S (LoRA: input and
        // weight gradients) + 2·attn.
        double compressor = 2.0 * (15360 + 576) * 15 + 256 * 70 + 2.0 * 15360 * 15 + 4.0 * 576 * 15 + 2 * 256 * 70;
        Assert.Equal(1_027_200, compressor);
        Assert.Equal(compressor, flops.Compressor(12));

        // Decoder over D = 3 memory + 1 task + 5 prompt + 3 target = 12 positions (78 causal pairs), logits on the
        // 3 targets; forward once, backward once more for the matmuls (input gradients only) and twice for attention.
        double decoder = 2 * (2.0 * 15360 * 12 + 2.0 * 1952 * 3) + 3 * 256 * 78;
        Assert.Equal(820_608, decoder);
        Assert.Equal(decoder, flops.Decoder(3, 5, 3));
        var example = new CompressorExample(Enumerable.Range(3, 12).ToArray(), new DecoderExample(TaskToken.Answer, [3, 4, 5, 6, 7], [8, 9, 10]));
        Assert.Equal(compressor + decoder, flops.Example(example));

        // Key-values memory: the decoder runs 1 + 5 + 3 = 9 positions after a prefix of 3 that every query sees:
        // 9·3 + 9·10/2 = 72 pairs.
        double keyValues = 2 * (2.0 * 15360 * 9 + 2.0 * 1952 * 3) + 3 * 256 * 72;
        Assert.Equal(keyValues, new CompressorFlops(Config, Options(kind: MemoryKind.KeyValues)).Decoder(3, 5, 3));
    }

    [Fact]
    public void A_training_step_reports_the_flops_of_the_examples_it_drew()
    {
        using var model = TinyModels.Create(Config);
        var options = new CompressorTrainingOptions
        {
            Compressor = Options(), TotalSteps = 2, WarmupSteps = 1, MicroBatchSize = 2, GradientAccumulation = 2,
            WindowLength = 16, ContinuationLength = 6, Seed = 3,
        };
        int[] corpus = new Random(5).GetItems(Enumerable.Range(3, 58).ToArray(), 300);
        var batches = new CompressorBatches(new CorpusWindows(corpus, 16, 6, 0.5), options.Seed);
        using var trainer = new CompressorTrainer(new Compressor(model, options.Compressor), options);
        var step = trainer.TrainStep(batches);

        var counter = new CompressorFlops(Config, options.Compressor);
        double expected = Enumerable.Range(0, 2).SelectMany(micro => batches.Sample(0, micro, 2)).Sum(counter.Example);
        Assert.Equal(expected, step.Flops);
        Assert.Equal(step.Flops / step.Seconds, step.FlopsPerSecond);
    }
}
