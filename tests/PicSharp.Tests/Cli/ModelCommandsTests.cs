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

    /// <summary>A user error: exit 1 and one line "pic CMD: message" on standard error, no stack trace.</summary>
    static string Refused(string command, params string[] args)
    {
        var result = PicCli.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"pic {command}: ", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        return result.Error;
    }

    [Fact]
    public void Threads_are_bounded_by_the_cores_on_every_model_command()
    {
        string dir = Init("threads", "--tokenizer", tokenizerPath);
        int cores = Environment.ProcessorCount;
        foreach (string threads in new[] { "0", "10000", $"{cores + 1}" })
        {
            Assert.Contains($"--threads must be between 1 and {cores}", Refused("generate", "generate", "--model", dir, "--prompt", "the", "--threads", threads));
            Assert.Contains($"got {threads}", Refused("perplexity", "perplexity", "--model", dir, "--tokens", "3,4", "--threads", threads));
            Refused("init", "init", "--config", configPath, "--out", Path.Combine(root, "never"), "--threads", threads);
        }
        Assert.False(Directory.Exists(Path.Combine(root, "never")));
        Assert.Equal(0, Pic("perplexity", "--model", dir, "--tokens", "3,4", "--threads", $"{cores}").ExitCode);
    }

    [Fact]
    public void Perplexity_computes_in_the_dtype_asked_for_and_defaults_to_the_folders()
    {
        string dir = Init("bf16", "--tokenizer", tokenizerPath, "--dtype", "bfloat16");
        string DtypeOf(params string[] extra)
        {
            var (code, output) = Pic(["perplexity", "--model", dir, "--tokens", "3,4,5", "--json", .. extra]);
            Assert.Equal(0, code);
            using var report = JsonDocument.Parse(output);
            return report.RootElement.GetProperty("dtype").GetString()!;
        }
        Assert.Equal("bfloat16", DtypeOf());
        Assert.Equal("float32", DtypeOf("--dtype", "float32"));
        Assert.Equal("bfloat16", DtypeOf("--dtype", "bf16")); // the short names are read as the HF ones
        Assert.Contains("--dtype 'float16' is not one of float32, bfloat16", Refused("perplexity", "perplexity", "--model", dir, "--tokens", "3,4", "--dtype", "float16"));
        Assert.Equal(0, Pic("generate", "--model", dir, "--prompt", "the", "--max-new-tokens", "2", "--dtype", "float32").ExitCode);
    }

    [Fact]
    public void Generation_settings_it_cannot_use_are_refused_in_one_line()
    {
        string dir = Init("settings", "--tokenizer", tokenizerPath);
        string[] Generate(params string[] extra) => ["generate", "--model", dir, "--prompt", "the", .. extra];
        Assert.Contains("max new tokens must be at least 1, got -5", Refused("generate", Generate("--max-new-tokens", "-5")));
        Assert.Contains("temperature must be a number ≥ 0", Refused("generate", Generate("--temperature", "-1")));
        Assert.Contains("got NaN", Refused("generate", Generate("--temperature", "NaN")));
        Assert.Contains("stop string is empty", Refused("generate", Generate("--stop", "")));
        Assert.Contains("top_p", Refused("generate", Generate("--top-p", "0")));
    }

    [Fact]
    public void Generation_stops_at_the_models_window_and_a_prompt_past_it_is_refused()
    {
        string smallConfig = Path.Combine(root, "small-window.json");
        File.WriteAllText(smallConfig, (TinyModels.Config() with { VocabSize = 300, BosTokenId = null, EosTokenIds = [], MaxPositionEmbeddings = 16 }).ToJson());
        string dir = Path.Combine(root, "window");
        Assert.Equal(0, Pic("init", "--config", smallConfig, "--out", dir, "--tokenizer", tokenizerPath).ExitCode);
        using (var model = ModelFolder.Load(dir))
        {
            // Uniform logits: greedy picks id 0 every step, which is no stop token, so only the window can end it.
            using (no_grad()) model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.zero_();
            ModelFolder.Save(model, dir);
        }
        int promptTokens = TextTokenizer.Load(tokenizerPath).Encode("the cat").Count;

        var result = PicCli.Run("generate", "--model", dir, "--prompt", "the cat", "--max-new-tokens", "100000", "--no-bos");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"[{16 - promptTokens} tokens in", result.Error);
        Assert.Contains($"stop: the model's window: prompt {promptTokens} + {16 - promptTokens} new tokens = max_position_embeddings 16", result.Error);

        string longPrompt = string.Join(" ", Enumerable.Repeat("the cat sat", 10));
        Assert.Contains("reads at most 16 (max_position_embeddings)", Refused("generate", "generate", "--model", dir, "--prompt", longPrompt));
        Assert.Contains("max_position_embeddings 16", Refused("perplexity", "perplexity", "--model", dir, "--tokens", "3,4,5", "--window", "17"));
    }

    [Fact]
    public void Outputs_under_a_regular_file_and_text_that_is_not_utf8_are_named()
    {
        string file = Path.Combine(root, "plain.txt");
        File.WriteAllText(file, "not a folder");
        Assert.Contains($"{file} is a file, not a folder", Refused("init", "init", "--config", configPath, "--out", Path.Combine(file, "model")));

        string dir = Init("utf8", "--tokenizer", tokenizerPath);
        string text = Path.Combine(root, "latin1.txt");
        File.WriteAllBytes(text, [.. "the caf"u8, 0xE9, .. " sat"u8]);
        Assert.Contains($"{text}: invalid UTF-8 at byte 7", Refused("perplexity", "perplexity", "--model", dir, "--file", text));
    }
}
