using PicSharp.Answering;
using PicSharp.Cli.Commands;
using PicSharp.Compression;
using PicSharp.Gguf;
using PicSharp.LlamaCpp;
using PicSharp.Modeling;
using PicSharp.Tests.Data;
using static TorchSharp.torch;

namespace PicSharp.Tests.LlamaCpp;

/// <summary>
/// What the llama.cpp engine refuses before llama.cpp sees it (llama.cpp aborts the whole process on a failed
/// assert): each bad input is a one-line user error, and the same engine answers the next good question.
/// </summary>
public sealed class NativeBoundaryTests(LlamaCppModel tiny) : IClassFixture<LlamaCppModel>, IDisposable
{
    readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    static string RefusedInOneLine(Action act)
    {
        var e = Record.Exception(act);
        Assert.NotNull(e);
        Assert.True(CommandErrors.IsUserError(e), $"{e.GetType().Name} is not a user error: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    // The engine still works after a refusal: the process and the llama.cpp context are alive.
    static void AnswersAGoodQuestion(LlamaCppAnswerer llama) =>
        Assert.Equal(4, llama.Answer([llama.FromText(null, "Who sold lamps?", 4)])[0].AnswerTokens);

    [Fact]
    public void A_memory_of_the_wrong_width_is_refused()
    {
        using var llama = tiny.Open();
        using var wide = new CompressedMemory(MemoryKind.Embeddings, randn(1, 5, LlamaCppModel.Config.HiddenSize + 8), null, [5], [5], [20]);

        Assert.Contains("72 wide but the model's embeddings are 64", RefusedInOneLine(() => llama.FromMemory(wide, "Where?", 4)));
        // A request built elsewhere (another answerer's) is checked again before llama.cpp reads it.
        var built = new AnswerRequest(tiny.Tokenizer.EncodeText("Where?"), 4) { Memory = wide };
        Assert.Contains("72 wide", RefusedInOneLine(() => llama.Answer([built])));
        // Counting more vectors than it holds would feed positions past its end.
        using var overcounted = new CompressedMemory(MemoryKind.Embeddings, randn(1, 5, LlamaCppModel.Config.HiddenSize), null, [9], [9], [20]);
        Assert.Contains("counts 9 vectors but holds 5", RefusedInOneLine(() => llama.Answer([built with { Memory = overcounted }])));
        AnswersAGoodQuestion(llama);
    }

    [Fact]
    public void A_context_past_the_window_is_refused_with_the_numbers()
    {
        using var llama = tiny.Open(new LlamaCppOptions { Threads = 1, Sequences = 1, ContextTokens = 48 });
        using var memories = tiny.Memories();

        Assert.Contains("but the model has 48", RefusedInOneLine(() => llama.FromText(LlamaCppModel.Contexts[0], "Where was Mira born?", 4)));
        Assert.Contains("but the model has 48", RefusedInOneLine(() => llama.FromMemory(memories, "Where was Mira born?", 30)));
        var built = new AnswerRequest(Enumerable.Repeat(100, 45).ToList(), 4);
        Assert.Contains("45 positions and the answer up to 4 more, but the model has 48", RefusedInOneLine(() => llama.Answer([built])));
        AnswersAGoodQuestion(llama);
    }

    [Fact]
    public void More_questions_than_sequences_are_refused()
    {
        using var llama = tiny.Open(new LlamaCppOptions { Threads = 1, Sequences = 2 });
        var three = Enumerable.Range(0, 3).Select(_ => llama.FromText(null, "Who sold lamps?", 4)).ToList();

        Assert.Contains("3 questions at once, but this llama.cpp engine was set up for at most 2", RefusedInOneLine(() => llama.Answer(three)));
        Assert.Equal(2, llama.Answer(three.Take(2).ToList()).Count);
    }

    [Fact]
    public void A_token_id_outside_the_vocabulary_is_refused()
    {
        using var llama = tiny.Open();
        Assert.Contains("token id 4096 is not in the model's vocabulary of 4096", RefusedInOneLine(() => llama.Answer([new AnswerRequest([5, 4096], 4)])));
        Assert.Contains("token id -1", RefusedInOneLine(() => llama.Answer([new AnswerRequest([-1], 4)])));
        AnswersAGoodQuestion(llama);
    }

    [Theory]
    [InlineData(0, 1, null, "at least 1 thread")]
    [InlineData(1, 0, null, "1 to 256 questions at once")]
    [InlineData(1, 257, null, "1 to 256 questions at once")]
    [InlineData(1, 1, 257, "between 2 and the model's 256 positions")]
    public void Settings_llama_cpp_cannot_take_are_refused(int threads, int sequences, int? context, string expected) =>
        Assert.Contains(expected, RefusedInOneLine(() => tiny.Open(new LlamaCppOptions { Threads = threads, Sequences = sequences, ContextTokens = context })));

    [Fact]
    public void Key_values_memories_are_refused()
    {
        using var keyValues = new Compressor(tiny.Model, new CompressorOptions { Ratio = 4, ChunkLength = 16, Kind = MemoryKind.KeyValues }, seed: 3);

        Assert.Contains("key-values memories", RefusedInOneLine(() => tiny.Open(compressor: keyValues)));
        using var llama = tiny.Open();
        using var memory = keyValues.Compress([tiny.Tokenizer.EncodeText(LlamaCppModel.Contexts[0])]);
        Assert.Contains("key-values memory cannot be given to llama.cpp", RefusedInOneLine(() => llama.FromMemory(memory, "Where?", 4)));
        AnswersAGoodQuestion(llama);
    }

    LlamaCppAnswerer OpenWith(string gguf) =>
        LlamaCppAnswerer.Open(tiny.ModelDir, gguf, tiny.Model, tiny.Tokenizer, tiny.Compressor, new LlamaCppOptions { Threads = 1 });

    [Fact]
    public void A_gguf_that_is_not_this_models_export_is_refused()
    {
        // Another model's export (its own folder, other weights).
        string other = temp.File("other");
        using (var model = TinyModels.Create(LlamaCppModel.Config, seed: 99)) ModelFolder.Save(model, other);
        ModelFolder.CopyTokenizer(tiny.ModelDir, other);
        string otherGguf = temp.File("other.gguf");
        GgufExport.Export(other, otherGguf, GgmlType.F32);
        Assert.Contains("was exported from other weights", RefusedInOneLine(() => OpenWith(otherGguf)));

        // A GGUF from another tool: nothing says whose weights it holds.
        string foreign = temp.File("foreign.gguf");
        var writer = new GgufWriter();
        writer.Add("general.architecture", GgufValue.Of("llama"));
        writer.Write(foreign);
        Assert.Contains("was not written by `pic export gguf`", RefusedInOneLine(() => OpenWith(foreign)));

        // Not a GGUF at all.
        string text = temp.File("notes.gguf");
        File.WriteAllText(text, "not a model");
        RefusedInOneLine(() => OpenWith(text));
    }

    [Fact]
    public void The_export_is_cached_beside_the_model_folder_reused_and_renewed_when_the_folder_changes()
    {
        string dir = temp.File("cached");
        using (var model = TinyModels.Create(LlamaCppModel.Config, seed: 5)) ModelFolder.Save(model, dir);
        ModelFolder.CopyTokenizer(tiny.ModelDir, dir);
        var exports = new List<string>();

        string first = GgufCache.Ensure(dir, GgmlType.F32, exports.Add);
        Assert.Equal(temp.File("cached.f32.gguf"), first);
        var written = File.GetLastWriteTimeUtc(first);
        Assert.Equal(first, GgufCache.Ensure(dir, GgmlType.F32, exports.Add));
        Assert.Single(exports); // reused: the folder did not change
        Assert.Equal(written, File.GetLastWriteTimeUtc(first));

        using (var model = TinyModels.Create(LlamaCppModel.Config, seed: 6)) ModelFolder.Save(model, dir);
        GgufCache.Ensure(dir, GgmlType.F32, exports.Add);
        Assert.Equal(2, exports.Count); // the folder's weights changed: exported again
        GgufCache.RequireExportOf(first, dir);
        Assert.DoesNotContain(Directory.GetFiles(temp.Path), f => PicSharp.Storage.AtomicFile.IsTemporary(Path.GetFileName(f)));
    }

    [Fact]
    public void Inputs_longer_than_one_llama_cpp_batch_go_in_several_calls_with_the_same_answers()
    {
        using var memories = tiny.Memories();
        using var wide = tiny.Open(new LlamaCppOptions { Threads = 1, Sequences = 4 });
        using var narrow = tiny.Open(new LlamaCppOptions { Threads = 1, Sequences = 4, BatchTokens = 5 });
        var questions = LlamaCppModel.Questions;

        var expected = wide.Answer(questions.Select((q, i) => wide.FromMemory(memories, q, 8, i / 2)).ToList());
        var chunked = narrow.Answer(questions.Select((q, i) => narrow.FromMemory(memories, q, 8, i / 2)).ToList());

        Assert.Equal(expected.Select(r => r.Text), chunked.Select(r => r.Text));
    }
}
