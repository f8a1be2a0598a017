using PicSharp.Compression;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

/// <summary>
/// Native memory is invisible to the GC, so a call that leaves tensors in the caller's (absent) scope leaks until a
/// collection happens to run. Counted here per thread with TorchSharp's dispose-scope statistics: tensors released by
/// a finalizer are counted on the finalizer thread, so a leak shows up here deterministically.
/// </summary>
public class NativeMemoryTests
{
    static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Fact]
    public void Forward_generate_compress_extend_and_train_steps_leave_no_tensor_behind()
    {
        var model = TinyModels.Create(TinyModels.Config());
        var options = new CompressorOptions { Ratio = 4, ChunkLength = 8, Lora = new() { Rank = 4 } };
        using var compressor = new Compressor(model, options, seed: 1);
        var decoder = new MemoryDecoder(compressor);
        using var optimizer = optim.AdamW(compressor.TrainableParameters(), lr: 1e-3);
        int[] context = [.. Enumerable.Range(3, 21)];
        var generation = new GenerationOptions { MaxNewTokens = 5 };

        void Step()
        {
            using (no_grad())
            {
                using var tokens = TinyModels.RandomTokens(61, 1, 9);
                using var hidden = model.ForwardTokens(tokens);
                using var prompt = model.Embed(tokens);
                TextGeneration.Generate(model, prompt, generation with { Temperature = 0.8 });
                using var memory = compressor.Compress([context[..13]]);
                using var extended = compressor.Extend(memory, context);
                decoder.Generate(extended, TaskToken.Answer, [5, 6], generation);
            }
            // TorchSharp's zero_grad leaves a handle per gradient in the caller's scope, so a trainer wraps it.
            using (NewDisposeScope()) optimizer.zero_grad();
            using var trained = compressor.Compress([context]);
            using var loss = decoder.Loss(trained, [new DecoderExample(TaskToken.Autoencode, [], context)]);
            loss.Mean.backward();
            optimizer.step();
        }

        Step(); // the optimizer's state and the gradients are created once
        long before = LiveTensors;
        for (int i = 0; i < 4; i++) Step();
        Assert.Equal(before, LiveTensors);
    }

    [Fact]
    public void Building_a_compressor_leaves_only_its_own_parameters()
    {
        var model = TinyModels.Create(TinyModels.Config());
        long before = LiveTensors;
        var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8, Lora = new() { Rank = 4 } });
        long created = LiveTensors - before;
        // Per projection A and B (each a Linear's weight), plus memory and task tokens; nothing else may remain.
        Assert.Equal(model.Projections.Count() * 2 + 2, created);
    }
}
