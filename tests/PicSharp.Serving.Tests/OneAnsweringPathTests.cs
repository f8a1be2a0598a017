using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Cli;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Serving.Tests;

/// <summary>
/// One question, one memory, one greedy answer, whichever way it is asked: the demo's and evaluation's answerer
/// (MemoryAnswerer, as `pic demo` builds it), `pic eval-lm --modes memory`, `pic ask` on a file from `pic compress`, and
/// the HTTP API, streamed and not, and the chat endpoint. All of them go through the one answerer.
/// </summary>
[Collection(nameof(TinyService))]
public sealed class OneAnsweringPathTests(TinyService tiny) : IDisposable
{
    const string Question = "Who kept the lighthouse?";
    // Short enough to compress in one piece, so `pic compress` and the service make exactly the memory the demo makes.
    const string Context = "The lighthouse keeper Marta Olsen painted the tower red in 1921.";
    readonly string dir = Directory.CreateTempSubdirectory("pic-one-path-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int ExitCode, string Output, string Error) Pic(params string[] args) => PicConsole.Run(CommandCatalog.All(), args);

    static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Demo_evaluation_ask_and_http_give_the_same_greedy_answer()
    {
        string[] engine = ["--model", tiny.ModelDir, "--compressor", tiny.CompressorDir, "--dtype", "float32", "--threads", "1"];

        // The demo's (and eval-lm's) answerer, built as `pic demo` builds it.
        string demo;
        {
            var tokenizer = TextTokenizer.Load(Path.Combine(tiny.ModelDir, ModelFolder.TokenizerFile));
            using var model = ModelFolder.Load(tiny.ModelDir, TorchSharp.torch.ScalarType.Float32);
            using var answerer = new MemoryAnswerer(CompressorFolder.Load(model, tiny.CompressorDir), tokenizer);
            Assert.InRange(MemoryAnswerer.ContextIds(tokenizer, Context).Count, 1, 64); // one piece: `pic compress` makes the same memory
            demo = answerer.Answer(new SquadExample("q", "t", Context, Question, [new SquadAnswer("Marta", Context.IndexOf("Marta"))]));
        }
        Assert.NotEqual("", demo);

        // `pic eval-lm --modes memory`.
        string qa = Path.Combine(dir, "qa.json"), predictions = Path.Combine(dir, "predictions.jsonl");
        new SquadDataset([new SquadExample("q", "t", Context, Question, [new SquadAnswer("Marta", Context.IndexOf("Marta"))])]).Save(qa);
        var (code, _, error) = Pic(["eval-lm", .. engine, "--qa", qa, "--modes", "memory", "--predictions", predictions]);
        Assert.True(code == 0, error);
        string evaluated = JsonNode.Parse(File.ReadLines(predictions).Single())!["prediction"]!.GetValue<string>();

        // `pic compress` then `pic ask`, as JSON and streamed.
        string text = Path.Combine(dir, "doc.txt"), memory = Path.Combine(dir, "doc.mem");
        File.WriteAllText(text, Context);
        (code, _, error) = Pic(["compress", .. engine, "--input", text, "--out", memory]);
        Assert.True(code == 0, error);
        (code, var output, error) = Pic(["ask", .. engine, "--memory", memory, "--question", Question, "--json"]);
        Assert.True(code == 0, error);
        var asked = JsonNode.Parse(output)!;
        (code, var streamed, error) = Pic(["ask", .. engine, "--memory", memory, "--question", Question]);
        Assert.True(code == 0, error);

        // The HTTP API and the OpenAI chat endpoint.
        await using var server = await RunningServer.StartAsync(tiny);
        var created = JsonNode.Parse(await (await server.Http.PostAsync("/v1/memories", Body(new { text = Context }))).Content.ReadAsStringAsync())!;
        var http = JsonNode.Parse(await (await server.Http.PostAsync($"/v1/memories/{created["id"]}/ask", Body(new { question = Question }))).Content.ReadAsStringAsync())!;
        var chat = JsonNode.Parse(await (await server.Http.PostAsync("/v1/chat/completions", Body(new
        {
            messages = new[] { new { role = "system", content = Context }, new { role = "user", content = Question } },
        }))).Content.ReadAsStringAsync())!;

        Assert.Equal(demo, evaluated);
        Assert.Equal(demo, asked["answer"]!.GetValue<string>());
        Assert.Equal(demo + "\n", streamed); // the streamed text is the answer itself, then the end of the line
        Assert.Equal(demo, http["answer"]!.GetValue<string>());
        Assert.Equal(demo, chat["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        // One vocabulary for why it stopped.
        Assert.Equal(http["stop_reason"]!.GetValue<string>(), asked["stop_reason"]!.GetValue<string>());
        Assert.Equal(http["stop_reason"]!.GetValue<string>(), chat["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Contains(asked["stop_reason"]!.GetValue<string>(), new[] { "stop", "length" });
    }
}
