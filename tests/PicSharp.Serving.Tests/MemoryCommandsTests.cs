using System.CommandLine;
using System.Text.Json.Nodes;
using PicSharp.Cli.Commands;
using PicSharp.Compression;

namespace PicSharp.Serving.Tests;

/// <summary>`pic compress`, `pic ask`, `pic append` on memory files, end to end through the command line parser.</summary>
[Collection(nameof(TinyService))]
public sealed class MemoryCommandsTests(TinyService tiny) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-memory-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly Lock ConsoleLock = new();

    (int ExitCode, string Output, string Error) Pic(params string[] args)
    {
        var root = new RootCommand();
        foreach (var c in MemoryCommands.Create()) root.Subcommands.Add(c);
        lock (ConsoleLock)
        {
            var (previousOut, previousError) = (Console.Out, Console.Error);
            var (output, error) = (new StringWriter(), new StringWriter());
            Console.SetOut(output);
            Console.SetError(error);
            try { return (root.Parse(args).Invoke(), output.ToString(), error.ToString()); }
            finally { Console.SetOut(previousOut); Console.SetError(previousError); }
        }
    }

    string[] Engine(string? compressor = null) => ["--model", tiny.ModelDir, "--compressor", compressor ?? tiny.CompressorDir];

    string Write(string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Compress_ask_append_round_trip()
    {
        string input = Write("doc.txt", TinyService.Passage);
        string memory = Path.Combine(dir, "doc.mem");
        var (code, output, error) = Pic(["compress", .. Engine(), "--input", input, "--out", memory, "--json"]);
        Assert.True(code == 0, error);
        var summary = JsonNode.Parse(output)!;
        using var engine = tiny.OpenEngine();
        int tokens = engine.Tokenize(TinyService.Passage).Count;
        Assert.Equal(tokens, summary["context_tokens"]!.GetValue<int>());
        Assert.Equal(engine.CompressorId, MemoryFile.ReadInfo(memory).CompressorId);
        Assert.Equal(engine.Tokenize(TinyService.Passage), MemoryFile.ReadContextIds(memory));

        (code, output, error) = Pic(["ask", .. Engine(), "--memory", memory, "--question", "Who kept the lighthouse?", "--max-tokens", "5", "--json"]);
        Assert.True(code == 0, error);
        var answer = JsonNode.Parse(output)!;
        var (loaded, _) = MemoryFile.Load(memory, engine.CompressorId);
        using (loaded)
            Assert.Equal(engine.Answerer.Answer([engine.Answerer.FromMemory(loaded, "Who kept the lighthouse?", 5)])[0].Text, answer["answer"]!.GetValue<string>());

        (code, output, error) = Pic(["ask", .. Engine(), "--memory", memory, "--question", "Who kept the lighthouse?", "--max-tokens", "5"]);
        Assert.True(code == 0, error);
        Assert.Equal(answer["answer"]!.GetValue<string>(), output.Trim()); // streamed text, same answer
        Assert.Contains("memory tokens", error);

        string more = Write("more.txt", " Pepper the cat lived to be nineteen.");
        string extended = Path.Combine(dir, "more.mem");
        (code, output, error) = Pic(["append", .. Engine(), "--memory", memory, "--input", more, "--out", extended, "--json"]);
        Assert.True(code == 0, error);
        Assert.Equal(tokens + engine.Tokenize(" Pepper the cat lived to be nineteen.").Count, JsonNode.Parse(output)!["context_tokens"]!.GetValue<int>());
        Assert.Equal(tokens, MemoryFile.ReadContextIds(memory)!.Length); // --out leaves the original alone
    }

    [Fact]
    public void A_memory_from_another_compressor_is_refused_naming_both_ids()
    {
        string memory = Path.Combine(dir, "doc.mem");
        Assert.Equal(0, Pic(["compress", .. Engine(), "--input", Write("doc.txt", TinyService.Passage), "--out", memory]).ExitCode);
        var (code, _, error) = Pic(["ask", .. Engine(tiny.OtherCompressorDir), "--memory", memory, "--question", "Who?"]);
        Assert.Equal(1, code);
        using var mine = tiny.OpenEngine();
        using var other = tiny.OpenEngine(tiny.OtherCompressorDir);
        Assert.StartsWith("pic ask: ", error);
        Assert.Contains(mine.CompressorId, error);
        Assert.Contains(other.CompressorId, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void Bad_input_fails_with_one_line_and_writes_nothing()
    {
        string memory = Path.Combine(dir, "bad.mem");
        string invalid = Path.Combine(dir, "bad.txt");
        File.WriteAllBytes(invalid, [0x61, 0x62, 0xFF, 0x63]);
        var (code, _, error) = Pic(["compress", .. Engine(), "--input", invalid, "--out", memory]);
        Assert.Equal((1, $"pic compress: {invalid} is not valid UTF-8 (bad byte at offset 2)"), (code, error.Trim()));
        (code, _, error) = Pic(["compress", .. Engine(), "--input", Write("empty.txt", " \n"), "--out", memory]);
        Assert.Equal(1, code);
        Assert.Contains("is empty", error);
        (code, _, error) = Pic(["compress", "--model", tiny.ModelDir, "--compressor", dir, "--input", Write("ok.txt", "hello"), "--out", memory]);
        Assert.Equal(1, code);
        Assert.Contains("is not a compressor folder", error);
        // The bundled compressor belongs to the default model: another model without --compressor has none.
        (code, _, error) = Pic(["compress", "--model", tiny.ModelDir, "--input", Write("ok.txt", "hello"), "--out", memory]);
        Assert.Equal(1, code);
        Assert.StartsWith("pic compress: no compressor: pass --compressor DIR", error.Trim());
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(File.Exists(memory));
    }
}
