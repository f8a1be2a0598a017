using PicSharp.Cli.Commands;
using PicSharp.Gguf;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Cli;

/// <summary>`pic export gguf` and `pic info F.gguf` end to end on tiny model folders.</summary>
public sealed class ExportCommandTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-export-").FullName;
    readonly string tokenizerPath;

    public ExportCommandTests()
    {
        tokenizerPath = Path.Combine(root, "tokenizer.json");
        var texts = Enumerable.Range(0, 20).Select(i => $"the cat sat on the mat {i} times,\nhéllo 世界");
        BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 280 }).Save(tokenizerPath);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    string Model(string name, LlamaConfig config, bool tokenizer = true)
    {
        string dir = Path.Combine(root, name), configPath = Path.Combine(root, $"{name}.json");
        File.WriteAllText(configPath, config.ToJson());
        string[] tokenizerArgs = tokenizer ? ["--tokenizer", tokenizerPath] : [];
        Assert.Equal(0, PicCli.Run(["init", "--config", configPath, "--out", dir, .. tokenizerArgs]).ExitCode);
        return dir;
    }

    static LlamaConfig Config(string modelType = "llama", bool attentionBias = false) =>
        TinyModels.Config(modelType, attentionBias: attentionBias) with { VocabSize = 300 };

    /// <summary>A refused command: exit 1, one line on standard error naming the problem.</summary>
    static void AssertRefused(string expected, params string[] args)
    {
        var result = PicCli.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public void Export_writes_a_gguf_that_info_describes()
    {
        string dir = Model("m", Config());
        string gguf = Path.Combine(root, "out", "m.gguf");
        var export = PicCli.Run("export", "gguf", "--model", dir, "--out", gguf, "--type", "q8_0");
        Assert.Equal(0, export.ExitCode);
        Assert.Contains("llama, 21 tensors", export.Output);
        // hidden 32 and intermediate 48: the 48-wide rows of ffn_down are not whole q8_0 blocks.
        Assert.Contains("2 kept as f16", export.Output);
        Assert.Equal(GgmlType.Q8_0, GgufFile.Read(gguf).Tensor("blk.0.attn_q.weight").Type);

        // The table goes through Spectre's console, which tests cannot capture; its rows are checked instead.
        Assert.Equal(0, PicCli.Run("info", gguf).ExitCode);
        var rows = ExportCommands.InfoRows(gguf).ToDictionary(r => r.Label, r => r.Value);
        Assert.Equal("llama (m)", rows["architecture"]);
        Assert.StartsWith("300 tokens, gpt2 / pre smaug-bpe", rows["vocabulary"]);
        Assert.Equal("21: 5 F32, 2 F16, 14 Q8_0", rows["tensors"]);
        Assert.Equal("ok: keys, vocabulary and tensors agree", rows["check"]);
    }

    [Fact]
    public void Existing_output_needs_force_and_a_model_file_is_never_the_output()
    {
        string dir = Model("m", Config());
        string gguf = Path.Combine(root, "m.gguf");
        File.WriteAllText(gguf, "old");
        AssertRefused("exists; pass --force to replace it", "export", "gguf", "--model", dir, "--out", gguf);
        Assert.Equal("old", File.ReadAllText(gguf));
        Assert.Equal(0, PicCli.Run("export", "gguf", "--model", dir, "--out", gguf, "--force").ExitCode);
        Assert.Equal("llama", GgufFile.Read(gguf).Find("general.architecture")!.Value);

        string weights = Path.Combine(dir, ModelFolder.WeightsFile);
        long size = new FileInfo(weights).Length;
        AssertRefused("is one of the model's own files", "export", "gguf", "--model", dir, "--out", weights, "--force");
        Assert.Equal(size, new FileInfo(weights).Length);
    }

    [Fact]
    public void Bad_inputs_get_one_line_and_leave_nothing_behind()
    {
        string outDir = Path.Combine(root, "out");
        string gguf = Path.Combine(outDir, "x.gguf");
        AssertRefused("not a model folder", "export", "gguf", "--model", root, "--out", gguf);
        AssertRefused("--type 'q4_0' is not supported; supported: f32, f16, bf16, q8_0",
            "export", "gguf", "--model", Model("m", Config()), "--out", gguf, "--type", "q4_0");
        AssertRefused("qwen3 with attention_bias = true", "export", "gguf", "--model", Model("q3", Config("qwen3", attentionBias: true)), "--out", gguf);
        AssertRefused("has no tokenizer.json", "export", "gguf", "--model", Model("bare", Config(), tokenizer: false), "--out", gguf);
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any());
    }

    [Fact]
    public void Info_refuses_a_truncated_or_foreign_file()
    {
        string dir = Model("m", Config());
        string gguf = Path.Combine(root, "m.gguf");
        Assert.Equal(0, PicCli.Run("export", "gguf", "--model", dir, "--out", gguf).ExitCode);
        byte[] bytes = File.ReadAllBytes(gguf);
        File.WriteAllBytes(gguf, bytes[..^100]);
        AssertRefused("truncated", "info", gguf);
        AssertRefused("not a GGUF file", "info", Path.Combine(dir, ModelFolder.ConfigFile));
        AssertRefused("GGUF file", "info", Path.Combine(root, "missing.gguf"));
    }
}
