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


    static (int ExitCode, string Output, string Error) Pic(params string[] args) => PicConsole.Run(MemoryCommands.Create(), args);

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

    // --- hostile cases: outputs that would destroy inputs, inputs that are not what they claim, concurrent appends ---

    (int ExitCode, string Error) Refused(params string[] args)
    {
        var (code, _, error) = Pic(args);
        Assert.Single(error.Trim().Split('\n'));
        return (code, error.Trim());
    }

    [Fact]
    public void An_output_that_is_an_input_or_a_loaded_file_is_refused_before_any_work()
    {
        string text = Write("v.txt", TinyService.Passage);
        var (code, error) = Refused(["compress", .. Engine(), "--input", text, "--out", text]);
        Assert.Equal(1, code);
        Assert.Equal($"pic compress: --out {text} is the --input file; choose another output", error);
        Assert.Equal(TinyService.Passage, File.ReadAllText(text));

        foreach (string loaded in Directory.GetFiles(tiny.ModelDir).Concat(Directory.GetFiles(tiny.CompressorDir)))
        {
            byte[] before = File.ReadAllBytes(loaded);
            (code, error) = Refused(["compress", .. Engine(), "--input", text, "--out", Path.GetRelativePath(Environment.CurrentDirectory, loaded)]);
            Assert.Equal(1, code);
            Assert.Contains($"--out {loaded} is a file of the loaded", error);
            Assert.Equal(before, File.ReadAllBytes(loaded));
        }

        // Checked before the model loads: a missing model would otherwise be the first complaint.
        (code, error) = Refused(["compress", "--model", Path.Combine(dir, "no-model"), "--compressor", tiny.CompressorDir, "--input", text, "--out", dir]);
        Assert.Equal($"pic compress: cannot write {dir}: it is a folder, not a file", error);

        string memory = Path.Combine(dir, "v.mem");
        Assert.Equal(0, Pic(["compress", .. Engine(), "--input", text, "--out", memory]).ExitCode);
        string more = Write("more.txt", " Pepper the cat lived to be nineteen.");
        (code, error) = Refused(["append", .. Engine(), "--memory", memory, "--input", more, "--out", more]);
        Assert.Equal($"pic append: --out {more} is the --input file; choose another output", error);
        Assert.Equal(" Pepper the cat lived to be nineteen.", File.ReadAllText(more));
    }

    [Fact]
    public void Inputs_that_are_not_what_they_should_be_get_one_clear_line()
    {
        string text = Write("doc.txt", TinyService.Passage);
        string memory = Path.Combine(dir, "doc.mem");
        Assert.Equal((1, $"pic compress: --input {dir} is a folder, not a text file"), Refused(["compress", .. Engine(), "--input", dir, "--out", memory]));
        Assert.Equal((1, $"pic ask: {dir} is a folder, not a memory file"), Refused(["ask", .. Engine(), "--memory", dir, "--question", "Who?"]));
        var (code, error) = Refused(["ask", .. Engine(), "--memory", text, "--question", "Who?"]);
        Assert.Equal(1, code);
        Assert.StartsWith($"pic ask: {text} is not a memory file", error);
        (code, error) = Refused(["compress", .. Engine(), "--input", Write("bom.txt", "\ufeff\n \n\t\n"), "--out", memory]);
        Assert.Equal(1, code);
        Assert.Contains("is empty", error);
        Assert.False(File.Exists(memory));
        Assert.Equal((1, "pic compress: --out is empty: name the file to write"), Refused(["compress", .. Engine(), "--input", text, "--out", ""]));
        string missing = Path.Combine(dir, "missing.mem");
        Assert.Equal((1, $"pic append: memory file {missing} does not exist"), Refused(["append", .. Engine(), "--memory", missing, "--input", text]));
        Assert.Equal((1, $"pic append: memory file {Path.Combine(dir, "no-folder", "x.mem")} does not exist"),
            Refused(["append", .. Engine(), "--memory", Path.Combine(dir, "no-folder", "x.mem"), "--input", text]));
        Assert.Equal(["bom.txt", "doc.txt"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order()); // no lock file left for a missing memory
    }

    [Fact]
    public void A_memory_file_changed_after_it_was_written_is_refused_naming_it()
    {
        string memory = Path.Combine(dir, "doc.mem");
        Assert.Equal(0, Pic(["compress", .. Engine(), "--input", Write("doc.txt", TinyService.Passage), "--out", memory]).ExitCode);
        var bytes = File.ReadAllBytes(memory);
        bytes[^5] ^= 0x01; // one bit of the embeddings
        File.WriteAllBytes(memory, bytes);
        var (code, error) = Refused(["ask", .. Engine(), "--memory", memory, "--question", "Who kept the lighthouse?"]);
        Assert.Equal(1, code);
        Assert.StartsWith($"pic ask: {memory}: checksum mismatch", error);
    }

    [Fact]
    public void Context_ids_outside_the_vocabulary_are_refused_by_ask_and_append_naming_the_memory()
    {
        string memory = Path.Combine(dir, "foreign-ids.mem");
        using (var engine = tiny.OpenEngine())
        {
            var ids = engine.Tokenize(TinyService.Passage).ToArray();
            using var compressed = engine.Compress(ids);
            ids[3] = 5000; // a sound file (valid checksum) whose ids this model cannot read
            MemoryFile.Save(memory, compressed, engine.MemoryInfo, ids);
        }
        string more = Write("more.txt", " More.");
        foreach (var args in new[] { new[] { "append", "--input", more }, ["ask", "--question", "Who?"] })
        {
            var (code, error) = Refused([args[0], .. Engine(), "--memory", memory, .. args[1..]]);
            Assert.Equal(1, code);
            Assert.StartsWith($"pic {args[0]}: {memory}: context token id 5000 at position 3 is outside the vocabulary of", error);
        }
    }

    [Fact]
    public void Append_claims_the_memory_file_so_a_concurrent_append_is_refused_and_sequential_ones_all_land()
    {
        string memory = Path.Combine(dir, "doc.mem");
        Assert.Equal(0, Pic(["compress", .. Engine(), "--input", Write("doc.txt", TinyService.Passage), "--out", memory]).ExitCode);
        int tokens = MemoryFile.ReadContextIds(memory)!.Length;
        string more = Write("more.txt", " Pepper the cat lived to be nineteen.");
        using var engine = tiny.OpenEngine();
        int added = engine.Tokenize(" Pepper the cat lived to be nineteen.").Count;

        using (PicSharp.Storage.FileClaim.Acquire(memory)) // what a running `pic append` on this file holds
        {
            var (code, error) = Refused(["append", .. Engine(), "--memory", memory, "--input", more]);
            Assert.Equal(1, code);
            Assert.Contains($"{memory} is being changed by process {Environment.ProcessId}", error);
        }
        Assert.Equal(tokens, MemoryFile.ReadContextIds(memory)!.Length);
        Assert.Equal(0, Pic(["append", .. Engine(), "--memory", memory, "--input", more]).ExitCode);
        Assert.Equal(0, Pic(["append", .. Engine(), "--memory", memory, "--input", more]).ExitCode);
        Assert.Equal(tokens + 2 * added, MemoryFile.ReadContextIds(memory)!.Length);
    }

    [Fact]
    public void Verify_checks_a_memory_file_or_every_row_of_a_store()
    {
        string memory = Path.Combine(dir, "doc.mem");
        Assert.Equal(0, Pic(["compress", .. Engine(), "--input", Write("doc.txt", TinyService.Passage), "--out", memory]).ExitCode);
        var (code, output, error) = Pic(["verify", memory]);
        Assert.True(code == 0, error);
        Assert.StartsWith($"ok {memory}: embeddings memory", output);

        var bytes = File.ReadAllBytes(memory);
        bytes[^5] ^= 0x01;
        File.WriteAllBytes(memory, bytes);
        (code, _, error) = Pic(["verify", memory]);
        Assert.Equal(1, code);
        Assert.StartsWith($"pic verify: {memory}: checksum mismatch", error);

        string storePath = Path.Combine(dir, "m.db");
        string damaged;
        using (var engine = tiny.OpenEngine())
        using (var store = new PicSharp.Serving.Store.SqliteMemoryStore(storePath))
        {
            foreach (string text in new[] { TinyService.Passage, "Pepper the cat lived to be nineteen." })
            {
                var ids = engine.Tokenize(text);
                using var compressed = engine.Compress(ids);
                store.Add(PicSharp.Serving.Store.StoredMemory.Of(compressed, engine.MemoryInfo, ids, DateTimeOffset.UtcNow));
            }
            damaged = store.List(0, 10)[0].Id;
        }
        (code, output, error) = Pic(["verify", storePath]);
        Assert.True(code == 0, error);
        Assert.Contains("all 2 memories verified", output);

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={storePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE memory_files SET file = CAST(substr(file, 1, length(file) - 8) || zeroblob(8) AS BLOB) WHERE id = '{damaged}'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        (code, output, _) = Pic(["verify", storePath]);
        Assert.Equal(1, code);
        Assert.StartsWith($"memory {damaged}: checksum mismatch", output);
        Assert.Contains("1 of 2 memories are damaged", output);
    }
}
