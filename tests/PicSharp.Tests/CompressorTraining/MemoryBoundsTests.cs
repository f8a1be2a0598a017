using PicSharp.Compression;
using PicSharp.CompressorTraining;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Tests.CompressorTraining;

public class MemoryBoundsTests
{
    static readonly int[][] Windows = Enumerable.Range(0, 5)
        .Select(w => Enumerable.Range(0, 12).Select(i => 3 + (w * 7 + i * 5) % 57).ToArray()).ToArray();

    // The bounds computed by hand: one sequence per window, [memory][<ae>][window], scored on the window's tokens.
    static (double Loss, double Accuracy) Direct(Compressor compressor, bool textAsMemory)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var model = compressor.Model;
        double lossSum = 0, correct = 0, count = 0;
        foreach (var window in Windows)
        {
            var ids = tensor(window.Select(t => (long)t).ToArray());
            var text = model.Embed(ids);
            var task = compressor.TaskEmbedding(TaskToken.Autoencode).unsqueeze(0);
            var row = textAsMemory ? cat([text, task, text], 0) : cat([task, text], 0);
            var logits = model.Logits(model.Forward(row.unsqueeze(0)))[0].to(ScalarType.Float32);
            int first = textAsMemory ? window.Length : 0; // the position whose output predicts the window's first token
            var predicting = logits[first..(first + window.Length)];
            lossSum += F.cross_entropy(predicting, ids).item<float>() * window.Length;
            correct += predicting.argmax(-1).eq(ids).sum().item<long>();
            count += window.Length;
        }
        return (lossSum / count, correct / count);
    }

    [Fact]
    public void Floor_and_ceiling_equal_the_decoder_run_by_hand_on_no_memory_and_on_the_text_itself()
    {
        using var model = TinyModels.Create(TinyModels.Config() with { InitializerRange = 0.25 });
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8 }, seed: 2);
        var bounds = MemoryBounds.Measure(compressor, Windows, batchSize: 2);

        var floor = Direct(compressor, textAsMemory: false);
        var ceiling = Direct(compressor, textAsMemory: true);
        Assert.Equal(Windows.Length * 12, bounds.Floor.Tokens);
        Assert.Equal(floor.Loss, bounds.Floor.Loss, 4);
        Assert.Equal(floor.Accuracy, bounds.Floor.Accuracy, 6);
        Assert.Equal(ceiling.Loss, bounds.Ceiling.Loss, 4);
        Assert.Equal(ceiling.Accuracy, bounds.Ceiling.Accuracy, 6);
        Assert.NotEqual(bounds.Floor.Loss, bounds.Ceiling.Loss, 3);
    }

    [Fact]
    public void The_compressors_score_equals_the_training_probe_on_the_same_windows()
    {
        using var model = TinyModels.Create(TinyModels.Config() with { InitializerRange = 0.25 });
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8 }, seed: 2);
        var bounds = MemoryBounds.Measure(compressor, Windows, batchSize: 2, measureCompressor: true);
        using var trainer = new CompressorTrainer(compressor, new CompressorTrainingOptions { MicroBatchSize = 2 });
        var probe = trainer.Evaluate(Windows.Select(w => new CompressorExample(w, new DecoderExample(TaskToken.Autoencode, [], w))).ToList());

        Assert.NotNull(bounds.Compressed);
        Assert.Equal(probe.Loss, bounds.Compressed.Loss, 4);
        Assert.Equal(probe.Accuracy, bounds.Compressed.Accuracy, 6);
        Assert.Null(MemoryBounds.Measure(compressor, Windows, batchSize: 2).Compressed);

        // The control: window i read from window i+1's memory (the last from the first's), computed here in one batch.
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var swapped = new MemoryDecoder(compressor).Loss(compressor.Compress(Windows),
            Windows.Select(w => new DecoderExample(TaskToken.Autoencode, [], w)).ToList(), memoryRows: [1, 2, 3, 4, 0]);
        Assert.NotNull(bounds.OtherWindow);
        Assert.Equal(swapped.Mean.item<float>(), bounds.OtherWindow.Loss, 4);
        Assert.Equal((double)swapped.Correct / swapped.Tokens, bounds.OtherWindow.Accuracy, 6);
        Assert.NotEqual(bounds.Compressed.Loss, bounds.OtherWindow.Loss, 4);
    }

    [Fact]
    public void Spread_windows_cover_the_whole_stream_without_overlap()
    {
        int[] stream = Enumerable.Range(0, 1000).ToArray();
        var windows = CorpusWindows.SpreadWindows(stream, window: 10, count: 7);
        Assert.Equal(7, windows.Count);
        Assert.All(windows, w => Assert.Equal(w[0] + 9, w[^1])); // each a contiguous slice
        for (int i = 1; i < windows.Count; i++) Assert.True(windows[i][0] >= windows[i - 1][^1] + 1, "windows overlap");
        Assert.True(windows[^1][0] >= 800, $"the last window starts at {windows[^1][0]}: the end of the stream is never sampled");
        Assert.Equal(100, CorpusWindows.SpreadWindows(stream, window: 10, count: 500).Count); // capped by the stream
    }
}
