using System.Text.Json;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Tests.Cli;

/// <summary>`pic init/info/generate/perplexity` end to end on a tiny model folder in a temp dir.</summary>
public sealed class ModelCommandsTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-cli-").FullName;
    readonly string configPath, tokenizerPath;

    public ModelCommandsTests()
    {
        configPath = Path.Combine(root, "config.json");
        File.WriteAllText(configPath, (TinyModels.Config() with { VocabSize = 300, BosTokenId = null }).ToJson());
        tokenizerPath = Path.Combine(root, "tokenizer.json");
        var texts = Enumerable.Range(0, 20).Select(i => $"the cat sat on the mat {i} times, héllo 世界");
        BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 280 }).Save(tokenizerPath);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    static (int ExitCode, string Output) Pic(params string[] args)
    {
        var result = PicCli.Run(args);
        return (result.ExitCode, result.Output);
    }

    string Init(string name, params string[] extra)
    {
        string dir = Path.Combine(root, name);
        Assert.Equal(0, Pic(["init", "--config", configPath, "--out", dir, .. extra]).ExitCode);
        return dir;
    }

    [Fact]
    public void Init_writes_a_loadable_folder_and_refuses_to_overwrite_without_force()
    {
        string dir = Init("m", "--tokenizer", tokenizerPath, "--seed", "5");
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(File.ReadAllText(tokenizerPath), File.ReadAllText(Path.Combine(dir, "tokenizer.json")));
        using (var model = ModelFolder.Load(dir)) Assert.Equal(300, model.Config.VocabSize);

        Assert.Equal(1, Pic("init", "--config", configPath, "--out", dir).ExitCode);
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")));
        Assert.Equal(0, Pic("init", "--config", configPath, "--out", dir, "--force").ExitCode);
        Assert.False(File.Exists(Path.Combine(dir, "tokenizer.json"))); // no stale tokenizer from the old model

        Assert.Equal(0, Pic("info", dir).ExitCode); // its table goes through Spectre's console, not Console.Out
        Assert.Equal(1, Pic("info", Path.Combine(root, "none")).ExitCode);
    }

    [Fact]
    public void Info_reads_a_config_written_by_current_transformers_and_init_refuses_nonsense_values()
    {
        string dir = Init("current");
        string config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"torch_dtype\"", "\"dtype\"").Replace("{", "{ \"a_key_from_the_future\": [1, 2],"));
        Assert.Equal(0, Pic("info", dir).ExitCode);

        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!;
        json["rms_norm_eps"] = -1;
        File.WriteAllText(configPath, json.ToJsonString());
        var result = PicCli.Run("init", "--config", configPath, "--out", Path.Combine(root, "bad"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("rms_norm_eps (-1) must be a positive number", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public void Perplexity_json_of_a_uniform_logit_model_equals_the_vocabulary_size()
    {
        string dir = Init("uniform", "--tokenizer", tokenizerPath);
        using (var model = ModelFolder.Load(dir))
        {
            using (no_grad()) model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.zero_();
            ModelFolder.Save(model, dir);
        }
        var (code, output) = Pic("perplexity", "--model", dir, "--tokens", "3, 4,5,299", "--json");
        Assert.Equal(0, code);
        using var report = JsonDocument.Parse(output);
        Assert.Equal(300.0, report.RootElement.GetProperty("perplexity").GetDouble(), 1e-2);
        Assert.Equal(3, report.RootElement.GetProperty("tokens").GetArrayLength());

        File.WriteAllText(Path.Combine(root, "text.txt"), "the cat sat on the mat");
        Assert.Equal(0, Pic("perplexity", "--model", dir, "--file", Path.Combine(root, "text.txt")).ExitCode);
    }

    [Fact]
    public void Bad_inputs_exit_with_an_error_instead_of_crashing()
    {
        string bare = Init("bare");
        string text = Path.Combine(root, "text.txt");
        File.WriteAllText(text, "the cat");
        Assert.Equal(1, Pic("perplexity", "--model", bare, "--file", text).ExitCode);           // no tokenizer.json
        Assert.Equal(1, Pic("perplexity", "--model", bare, "--tokens", "5,300").ExitCode);      // id out of range
        Assert.Equal(1, Pic("perplexity", "--model", bare, "--tokens", "5,x").ExitCode);        // not an id
        Assert.Equal(1, Pic("perplexity", "--model", bare, "--tokens", "5").ExitCode);          // nothing to predict
        Assert.Equal(1, Pic("perplexity", "--model", Path.Combine(root, "none"), "--tokens", "1,2").ExitCode);
        Assert.Equal(1, Pic("generate", "--model", bare, "--prompt", "the").ExitCode);          // no tokenizer.json
    }

    [Fact]
    public void Generate_streams_the_text_of_the_tokens_it_produces()
    {
        string dir = Init("gen", "--tokenizer", tokenizerPath);
        var (code, output) = Pic("generate", "--model", dir, "--prompt", "the cat", "--max-new-tokens", "6");
        Assert.Equal(0, code);
        Assert.NotEqual("", output.Trim('\n'));
    }
}
