using PicSharp.Gguf;
using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Tests.Data;
using PicSharp.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace PicSharp.Tests.Gguf;

/// <summary>
/// Exported GGUF files against llama.cpp: random tiny models of every family, with the bundled tokenizer, give the
/// logits TorchSharp gives for the same ids, and llama.cpp's tokenizer gives our ids.
/// </summary>
public sealed class GgufExportTests(ITestOutputHelper output) : IDisposable
{
    readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PicSharp.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("PicSharp.slnx not found above the test binaries");
    }

    internal static string BundledModel => Path.Combine(RepositoryRoot(), "models", "picsharp-base");

    static LlamaConfig Config(string modelType, bool tied = false, bool attentionBias = false, Llama3RopeScaling? rope = null, int ff = 96) => new()
    {
        ModelType = modelType,
        VocabSize = 4096, // the bundled tokenizer's
        HiddenSize = 64,
        IntermediateSize = ff,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        RopeScaling = rope,
        MaxPositionEmbeddings = 256,
        TieWordEmbeddings = tied,
        AttentionBias = attentionBias,
        SlidingWindow = modelType == "mistral" ? 128 : null,
        BosTokenId = 4093,
        EosTokenIds = [4094],
        InitializerRange = 0.1, // logits far from uniform, so a wrong layout cannot hide in small numbers
    };

    /// <summary>A model folder of <paramref name="config"/> with random weights (norms and biases too) and the bundled tokenizer.</summary>
    string ModelFolderOf(LlamaConfig config, string name)
    {
        string dir = temp.File(name);
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(config);
        using (no_grad())
        {
            var generator = new Generator(11);
            foreach (var (parameter, p) in model.named_parameters())
                if (parameter.EndsWith("norm.weight")) p.add_(randn(p.shape, generator: generator) * 0.2);
        }
        ModelFolder.Save(model, dir);
        ModelFolder.CopyTokenizer(BundledModel, dir);
        return dir;
    }

    static int[] SampleIds(int count, int seed)
    {
        var random = new Random(seed);
        return [4093, .. Enumerable.Range(1, count - 1).Select(_ => random.Next(4093))];
    }

    /// <summary>Max |log-softmax difference| between TorchSharp (fp32) and llama.cpp on the same ids.</summary>
    static (double MaxDiff, double Spread) CompareLogProbs(string modelDir, string gguf, int[] ids)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFolder.Load(modelDir, ScalarType.Float32);
        var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        var ours = nn.functional.log_softmax(model.Logits(model.ForwardTokens(input))[0].to(ScalarType.Float64), -1);
        var theirs = nn.functional.log_softmax(tensor(LlamaCpp.Logits(gguf, ids).SelectMany(r => r).ToArray()).view(ids.Length, -1).to(ScalarType.Float64), -1);
        double spread = (ours.max(-1).values - ours.min(-1).values).min().item<double>();
        return ((ours - theirs).abs().max().item<double>(), spread);
    }

    public static TheoryData<string, bool, bool, bool> Families => new()
    {
        { "llama", false, false, false },
        { "llama", true, false, false },
        { "llama", true, true, true },    // q, k, v, o biases and Llama 3.1 RoPE scaling (rope_freqs)
        { "mistral", false, false, false },
        { "qwen2", true, false, false },  // q, k, v biases, NEOX RoPE
        { "qwen3", false, false, false }, // per-head q and k RMSNorm
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Fp32_export_gives_llama_cpp_our_logits(string modelType, bool tied, bool attentionBias, bool ropeScaling)
    {
        // Scaling inside the sequence: wavelengths between 16 / 4 and 16 / 1 positions are interpolated.
        var rope = ropeScaling ? new Llama3RopeScaling(8, 1, 4, 16) : null;
        string dir = ModelFolderOf(Config(modelType, tied, attentionBias, rope), $"{modelType}-{tied}-{attentionBias}");
        string gguf = temp.File($"{modelType}.gguf");
        GgufExport.Export(dir, gguf, GgmlType.F32);

        var file = GgufFile.Read(gguf);
        Assert.Equal(modelType == "mistral" ? "llama" : modelType, file.Find("general.architecture")!.Value);
        Assert.Equal(!tied, file.FindTensor("output.weight") is not null);
        Assert.Equal(modelType == "qwen2" || attentionBias, file.FindTensor("blk.1.attn_k.bias") is not null);
        Assert.Equal(attentionBias, file.FindTensor("blk.1.attn_output.bias") is not null);
        Assert.Equal(modelType == "qwen3", file.FindTensor("blk.1.attn_k_norm.weight") is not null);
        Assert.Equal(ropeScaling, file.FindTensor(GgufTensorLayout.RopeFactors) is not null);

        var (diff, spread) = CompareLogProbs(dir, gguf, SampleIds(40, 5));
        output.WriteLine($"{modelType} tied={tied} bias={attentionBias} rope_scaling={ropeScaling}: max |log p diff| {diff:E2}, smallest per-position spread {spread:F2}");
        Assert.True(spread > 1, $"log-probabilities span only {spread}: too flat to test anything");
        Assert.True(diff <= 1e-4, $"{modelType}: max |log p difference| {diff:E2} > 1e-4");
    }

    /// <summary>A copy of an F32 GGUF with each tensor's values replaced by <paramref name="change"/> (null: dropped).</summary>
    static void Rewrite(string gguf, string copy, Func<GgufTensorInfo, float[], float[]?> change)
    {
        var file = GgufFile.Read(gguf);
        var writer = new GgufWriter();
        foreach (var (key, value) in file.Metadata.Where(p => p.Key != GgufFile.AlignmentKey)) writer.Add(key, value);
        foreach (var info in file.Tensors)
            if (change(info, file.ReadFloats(info.Name)) is { } values)
                writer.AddTensor(info.Name, info.Dims, info.Type, stream => stream.Write(GgmlEncoding.Encode(info.Type, values)));
        writer.Write(copy);
    }

    [Fact]
    public void Without_the_qk_permutation_or_the_rope_factors_llama_cpp_disagrees()
    {
        // Negative controls: the same export with HF's q and k rows copied unpermuted, or without the Llama 3.1 RoPE
        // factors, must disagree with TorchSharp, so the agreement above shows that both are right, not that they do
        // not matter.
        string dir = ModelFolderOf(Config("llama", rope: new Llama3RopeScaling(8, 1, 4, 16)), "llama-controls");
        string gguf = temp.File("right.gguf"), unpermuted = temp.File("unpermuted.gguf"), unscaled = temp.File("unscaled.gguf");
        GgufExport.Export(dir, gguf, GgmlType.F32);
        var hf = SafeTensorsFile.Load(Path.Combine(dir, ModelFolder.WeightsFile));
        Rewrite(gguf, unpermuted, (info, values) => info.Name.Split('.') is ["blk", var layer, "attn_q" or "attn_k", "weight"] parts
            ? hf[$"model.layers.{layer}.self_attn.{(parts[2] == "attn_q" ? "q_proj" : "k_proj")}.weight"].data<float>().ToArray()
            : values);
        Rewrite(gguf, unscaled, (info, values) => info.Name == GgufTensorLayout.RopeFactors ? null : values);

        var ids = SampleIds(40, 7);
        double right = CompareLogProbs(dir, gguf, ids).MaxDiff;
        double withoutPermutation = CompareLogProbs(dir, unpermuted, ids).MaxDiff, withoutFactors = CompareLogProbs(dir, unscaled, ids).MaxDiff;
        output.WriteLine($"right: {right:E2}, unpermuted: {withoutPermutation:E2}, without RoPE factors: {withoutFactors:E2}");
        Assert.True(right <= 1e-4);
        Assert.True(withoutPermutation > 1e-2);
        Assert.True(withoutFactors > 1e-2);
    }

    [Theory]
    [InlineData(GgmlType.F16, 0.05)]
    [InlineData(GgmlType.BF16, 0.2)]
    [InlineData(GgmlType.Q8_0, 0.2)]
    public void Reduced_precision_exports_load_and_stay_close(GgmlType type, double tolerance)
    {
        // ff 80: ffn_down rows are not whole 32-value blocks, so q8_0 keeps it as f16.
        string dir = ModelFolderOf(Config("llama", ff: 80), "llama-ff80");
        string gguf = temp.File($"{type}.gguf");
        var result = GgufExport.Export(dir, gguf, type);
        var file = GgufFile.Read(gguf);
        Assert.Equal(type, file.Tensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F32, file.Tensor("blk.0.attn_norm.weight").Type);
        Assert.Equal(type == GgmlType.Q8_0 ? GgmlType.F16 : type, file.Tensor("blk.0.ffn_down.weight").Type);
        Assert.Equal(type == GgmlType.Q8_0 ? ["blk.0.ffn_down.weight", "blk.1.ffn_down.weight"] : [], result.KeptAsF16);

        var (diff, _) = CompareLogProbs(dir, gguf, SampleIds(24, 6));
        output.WriteLine($"{type}: max |log p diff| {diff:E2}");
        Assert.True(diff <= tolerance, $"{type}: max |log p difference| {diff:E2} > {tolerance}");
    }

    // Scripts, digits in runs, spaces in runs, newlines, contractions, punctuation and emoji (several UTF-8 lengths).
    const string MixedText = "The year 2024: 12345 apples, naïve café — Ελληνικά, русский, 日本語の文章, 한국어, عربى!\n\n" +
        "  indented\tcode(x) { return x*2; }   trailing   \r\nI'll say it's 3.14159... 🦙🚀👩‍👩‍👧 e\u0301 end";

    [Fact]
    public void Llama_cpp_tokenizes_like_our_tokenizer()
    {
        string dir = ModelFolderOf(Config("llama", tied: true), "tokenizer-model");
        string gguf = temp.File("tokenizer.gguf");
        GgufExport.Export(dir, gguf, GgmlType.F32);
        var tokenizer = TextTokenizer.Load(Path.Combine(dir, ModelFolder.TokenizerFile));

        foreach (string text in new[] { MixedText, " leading space", "x", "1234567", "\n\n\n" })
        {
            Assert.Equal(tokenizer.Encode(text), LlamaCpp.Tokenize(gguf, text, addBos: false));
            Assert.Equal(tokenizer.EncodeWithBos(text), LlamaCpp.Tokenize(gguf, text, addBos: true));
        }
        // Special tokens written out in the text are their ids for us; for llama.cpp when asked to parse them.
        string withSpecial = "one<|eos|>two <|pad|>";
        Assert.Contains(4094, tokenizer.Encode(withSpecial));
        Assert.Equal(tokenizer.Encode(withSpecial), LlamaCpp.Tokenize(gguf, withSpecial, addBos: false, special: true));
    }

    [Fact]
    public void Bundled_model_export_matches_in_llama_cpp()
    {
        string gguf = temp.File("picsharp-base.gguf");
        GgufExport.Export(BundledModel, gguf, GgmlType.F32);
        var model = GgufModel.Read(gguf);
        model.RequireMatches(LlamaConfig.Load(Path.Combine(BundledModel, ModelFolder.ConfigFile)));

        var tokenizer = TextTokenizer.Load(Path.Combine(BundledModel, ModelFolder.TokenizerFile));
        string text = "The river flows past the old mill, and the miller's daughter counts 17 boats before noon.";
        Assert.Equal(tokenizer.EncodeWithBos(text), LlamaCpp.Tokenize(gguf, text, addBos: true));
        var (diff, _) = CompareLogProbs(BundledModel, gguf, [.. tokenizer.EncodeWithBos(text)]);
        output.WriteLine($"picsharp-base f32: max |log p diff| {diff:E2} over {tokenizer.EncodeWithBos(text).Count} positions");
        Assert.True(diff <= 1e-4, $"picsharp-base: max |log p difference| {diff:E2} > 1e-4");
    }

    [Fact]
    public void A_gguf_of_another_model_or_a_truncated_one_is_refused_before_llama_cpp()
    {
        string llama = ModelFolderOf(Config("llama"), "llama-a");
        string qwen = ModelFolderOf(Config("qwen2", tied: true), "qwen-b");
        string gguf = temp.File("a.gguf");
        GgufExport.Export(llama, gguf, GgmlType.F32);
        var model = GgufModel.Read(gguf);
        var read = model.RequireLoadable();
        var written = LlamaConfig.Load(Path.Combine(llama, ModelFolder.ConfigFile));
        Assert.Equal((written.VocabSize, written.HiddenSize, written.IntermediateSize, written.NumHiddenLayers, written.NumAttentionHeads, written.NumKeyValueHeads, written.HeadDim, written.TieWordEmbeddings),
            (read.VocabSize, read.HiddenSize, read.IntermediateSize, read.NumHiddenLayers, read.NumAttentionHeads, read.NumKeyValueHeads, read.HeadDim, read.TieWordEmbeddings));
        model.RequireMatches(written);
        var otherConfig = LlamaConfig.Load(Path.Combine(qwen, ModelFolder.ConfigFile));
        Assert.Contains("architecture 'llama'", Assert.Throws<GgufFormatException>(() => model.RequireMatches(otherConfig)).Message);
        var wider = Config("llama") with { IntermediateSize = 128 };
        var error = Assert.Throws<GgufFormatException>(() => model.RequireMatches(wider)).Message;
        Assert.Contains("feed_forward_length is 96, the model's is 128", error);
        Assert.Contains("blk.0.ffn_up.weight", error);

        byte[] bytes = File.ReadAllBytes(gguf);
        File.WriteAllBytes(gguf, bytes[..(bytes.Length / 2)]);
        Assert.Contains("truncated", Assert.Throws<GgufFormatException>(() => GgufModel.Read(gguf)).Message);
    }
}
