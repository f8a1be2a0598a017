using LLama;
using LLama.Common;
using LLama.Native;
using PicSharp.Gguf;
using PicSharp.LlamaCpp;

namespace PicSharp.Tests.Gguf;

/// <summary>
/// llama.cpp (through LLamaSharp) as the independent reference for exported GGUF files: next-token logits of a token
/// sequence fed as one batch, and its tokenizer. F32 KV cache and no flash attention, so fp32 files compute in fp32.
/// </summary>
static class LlamaCpp
{
    // llama.cpp logs every load to stderr; tests keep the warnings and errors only, as the engine does.
    static void Configure() => LlamaCppLog.Configure();

    // Every file passes PicSharp's check before llama.cpp opens it (llama.cpp may abort the process on a bad one);
    // this also runs the check on every export the tests make.
    static ModelParams Parameters(string path, int context)
    {
        GgufModel.Read(path).RequireLoadable();
        return new(path)
        {
            ContextSize = (uint)context,
            BatchSize = (uint)context,
            UBatchSize = (uint)context,
            Threads = 1,
            GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
    }

    /// <summary>Logits [ids.Count][vocab] of every position, ids at positions 0..n-1 in one sequence.</summary>
    public static float[][] Logits(string path, IReadOnlyList<int> ids)
    {
        Configure();
        var parameters = Parameters(path, Math.Max(32, ids.Count));
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Count; i++) batch.Add((LLamaToken)ids[i], i, LLamaSeqId.Zero, logits: true);
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode: {result}");
        return Enumerable.Range(0, ids.Count).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>llama.cpp's token ids for <paramref name="text"/>; <paramref name="special"/>: the text of special
    /// tokens becomes their ids (as our tokenizer does), else it is tokenised as text.</summary>
    public static int[] Tokenize(string path, string text, bool addBos, bool special = false)
    {
        Configure();
        using var weights = LLamaWeights.LoadFromFile(Parameters(path, 32) with { VocabOnly = true });
        return weights.Tokenize(text, addBos, special, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();
    }
}
