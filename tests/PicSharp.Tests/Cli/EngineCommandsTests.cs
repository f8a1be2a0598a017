using System.Text.Json;
using PicSharp.Data;

namespace PicSharp.Tests.Cli;

/// <summary>
/// `--engine llamacpp` on the commands that answer (ask, eval-lm) and the benches that decode (bench ask, bench
/// forward), run for real on a tiny fp32 model folder and its untrained compressor: the same answers as
/// `--engine torch`, the GGUF exported once beside the folder, bad engine options refused in one line.
/// </summary>
public sealed class EngineCommandsTests : IDisposable
{
    const string Passage = "Ada lives in Paris and works as a painter. Bo lives in Rome and sells old maps by the river.";
    readonly string root = Directory.CreateTempSubdirectory("pic-engine-").FullName;
    readonly string modelDir, compressorDir, memoryPath, qaPath;

    public EngineCommandsTests()
    {
        // Peaked logits (greedy choices are no near-ties) and room for `bench forward`'s 512 + 129 positions.
        var config = TinyModels.Config() with { VocabSize = 300, BosTokenId = null, InitializerRange = 0.1, MaxPositionEmbeddings = 1024 };
        modelDir = TinyModelFolder.Create(root, Enumerable.Range(0, 20).Select(i => $"{Passage} {i}. Where does Ada live? Paris."), config);
        compressorDir = Path.Combine(root, "compressor");
        Assert.Equal(0, PicCli.Run("init-compressor", "--model", modelDir, "--out", compressorDir, "--ratio", "4", "--chunk-length", "16").ExitCode);
        string text = Path.Combine(root, "passage.txt");
        File.WriteAllText(text, Passage);
        memoryPath = Path.Combine(root, "passage.mem");
        Assert.Equal(0, Pic("compress", "--input", text, "--out", memoryPath).ExitCode);
        qaPath = Path.Combine(root, "qa.json");
        new SquadDataset([
            new SquadExample("a", "t", Passage, "Where does Ada live?", [new SquadAnswer("Paris", 13)]),
            new SquadExample("b", "t", Passage, "What does Bo sell?", [new SquadAnswer("old maps", Passage.IndexOf("old maps", StringComparison.Ordinal))]),
        ]).Save(qaPath);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    PicCli.Result Pic(params string[] args) =>
        PicCli.Run([.. args, "--model", modelDir, "--compressor", compressorDir, "--threads", "1", "--dtype", "float32"]);

    static JsonElement AskJson(PicCli.Result result)
    {
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonDocument.Parse(result.Output).RootElement;
    }

    [Fact]
    public void Ask_answers_the_same_on_both_engines_and_the_export_is_cached_beside_the_model_folder()
    {
        string[] ask = ["ask", "--memory", memoryPath, "--question", "Where does Ada live?", "--max-tokens", "6", "--json"];
        var torch = AskJson(Pic([.. ask, "--engine", "torch"]));
        var first = Pic([.. ask, "--engine", "llamacpp"]);
        var llama = AskJson(first);
        var again = Pic([.. ask, "--engine", "llamacpp"]);

        Assert.Equal(torch.GetProperty("answer").GetString(), llama.GetProperty("answer").GetString());
        Assert.Equal(torch.GetProperty("answer_tokens").GetInt32(), llama.GetProperty("answer_tokens").GetInt32());
        Assert.True(File.Exists(Path.Combine(root, "model.f32.gguf")));
        Assert.Contains("exporting", first.Error);
        Assert.Equal(0, again.ExitCode);
        Assert.DoesNotContain("exporting", again.Error); // reused
        Assert.Equal(llama.GetProperty("answer").GetString(), AskJson(again).GetProperty("answer").GetString());
    }

    [Fact]
    public void Eval_lm_gives_every_mode_the_same_predictions_on_both_engines()
    {
        string Predictions(string engine)
        {
            string path = Path.Combine(root, $"{engine}.jsonl"), report = Path.Combine(root, $"{engine}.json");
            var result = PicCli.Run("eval-lm", "--model", modelDir, "--qa", qaPath, "--compressor", compressorDir, "--modes", "full,memory,none",
                "--max-new-tokens", "4", "--threads", "1", "--dtype", "float32", "--engine", engine, "--predictions", path, "--json", report);
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Equal(engine == "torch" ? "torch" : $"llamacpp ({Path.Combine(root, "model.f32.gguf")})",
                JsonDocument.Parse(File.ReadAllText(report)).RootElement.GetProperty("engine").GetString());
            return string.Join("\n", File.ReadLines(path).Select(line =>
            {
                var record = JsonDocument.Parse(line).RootElement;
                return $"{record.GetProperty("mode")} {record.GetProperty("id")} {record.GetProperty("prediction")}";
            }));
        }

        string torch = Predictions("torch");
        Assert.Equal(torch, Predictions("llamacpp"));
        Assert.Equal(6, torch.Split('\n').Length);
        Assert.Contains(torch.Split('\n'), line => line.Split(' ', 3)[2].Length > 0); // not only empty answers
    }

    [Fact]
    public void Engine_options_that_cannot_work_are_refused_in_one_line()
    {
        string[] ask = ["ask", "--memory", memoryPath, "--question", "Where does Ada live?"];
        var withoutEngine = Pic([.. ask, "--gguf", Path.Combine(root, "model.f32.gguf")]);
        Assert.Equal(1, withoutEngine.ExitCode);
        Assert.Equal("pic ask: --gguf is read by --engine llamacpp only; add --engine llamacpp or leave --gguf out", withoutEngine.Error.Trim());

        string foreign = Path.Combine(root, "foreign.gguf");
        File.WriteAllText(foreign, "not a gguf");
        var notGguf = Pic([.. ask, "--engine", "llamacpp", "--gguf", foreign]);
        Assert.Equal(1, notGguf.ExitCode);
        Assert.Single(notGguf.Error.Trim().Split('\n'));

        Assert.NotEqual(0, Pic([.. ask, "--engine", "onnx"]).ExitCode);
    }

    [Fact]
    public void The_benches_decode_on_llama_cpp()
    {
        // Spectre's console output is not capturable in a parallel suite: the JSON reports are read instead.
        string askJson = Path.Combine(root, "ask.json");
        var ask = PicCli.Run("bench", "ask", "--engine", "llamacpp", "--models", modelDir, "--contexts", "48", "--ratios", "4",
            "--question-tokens", "4", "--answer-tokens", "3", "--dtype", "float32", "--threads", "1", "--quick", "--json", askJson);
        Assert.True(ask.ExitCode == 0, ask.Error);
        var ways = JsonDocument.Parse(File.ReadAllText(askJson)).RootElement.GetProperty("results").EnumerateArray()
            .Select(r => $"{r.GetProperty("mode").GetString()} {r.GetProperty("engine").GetString()}").ToList();
        Assert.Equal(["(a) full llamacpp", "(b) compress llamacpp", "(c) stored llamacpp"], ways);

        string json = Path.Combine(root, "forward.json");
        var forward = PicCli.Run("bench", "forward", "--engine", "llamacpp", "--model", modelDir, "--threads", "1", "--quick", "--json", json);
        Assert.True(forward.ExitCode == 0, forward.Error);
        var workloads = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("workload").GetString()).ToList();
        Assert.Equal(["prompt 512 (llama.cpp)", "decode 128 after 512 (llama.cpp)", "prompt 512 (llama.cpp)", "decode 128 after 512 (llama.cpp)"], workloads);

        // The same folder on TorchSharp: its rows, training included.
        var torch = PicCli.Run("bench", "forward", "--model", modelDir, "--threads", "1", "--quick", "--json", json);
        Assert.True(torch.ExitCode == 0, torch.Error);
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(modelDir, report.GetProperty("model").GetString());
        Assert.Equal(["prompt 512", "decode 128 after 512", "train fwd+bwd 1x512"],
            report.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("workload").GetString()).Take(3));
    }
}
