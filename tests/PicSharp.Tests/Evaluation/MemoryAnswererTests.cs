using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Evaluation;

public class MemoryAnswererTests
{
    const string Mira = "Mira Kelvane was born in Dorport and works as a baker in the old town by the river.";
    const string Strand = "The Strand Company was founded in 1921 by Otto Brael.";

    static SquadExample Example(string id, string context, string question, string answer) =>
        new(id, "test", context, question, [new SquadAnswer(answer, context.IndexOf(answer, StringComparison.Ordinal))]);

    static readonly SquadExample[] Examples =
    [
        Example("a", Mira, "Where was Mira born?", "Dorport"),
        Example("b", Mira, "What does Mira do?", "baker"),
        Example("c", Strand, "Who founded the company?", "Otto Brael"),
    ];

    static (LlamaForCausalLM Model, TextTokenizer Tokenizer) TinyModel()
    {
        var tokenizer = BpeTrainer.Train(Examples.Select(e => QaPrompt.Prompt(e.Context, e.Question) + " " + e.Answers[0].Text),
            new BpeTrainerOptions { VocabSize = 300, MinFrequency = 1 });
        var model = TinyModels.Create(TinyModels.Config() with
        {
            VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.BosTokenId, EosTokenIds = [tokenizer.EosTokenId!.Value],
        });
        return (model, tokenizer);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Full_memory_and_none_answer_the_same_questions_and_a_shared_passage_is_compressed_once(MemoryKind kind)
    {
        var (model, tokenizer) = TinyModel();
        var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 16, Kind = kind }, seed: 3);
        compressor.eval();
        using var memory = new MemoryAnswerer(compressor, tokenizer, maxNewTokens: 4);
        IQaAnswerer[] answerers = [LanguageModelAnswerer.FullContext(model, tokenizer, 4), memory, LanguageModelAnswerer.NoContext(model, tokenizer, 4)];

        var result = QaEvaluation.Evaluate(answerers, Examples, maxInputLength: 400, answerLoss: true);

        Assert.Equal(["full", "memory", "none"], result.Modes.Select(m => m.Mode));
        Assert.All(result.Modes, mode =>
        {
            Assert.Equal(["a", "b", "c"], mode.Records.Select(r => r.Id));
            Assert.All(mode.Records, r => { Assert.InRange(r.ExactMatch, 0, 1); Assert.InRange(r.F1, 0, 1); Assert.DoesNotContain("\n", r.Prediction); });
        });
        int miraTokens = MemoryAnswerer.ContextIds(tokenizer, Mira).Count, strandTokens = MemoryAnswerer.ContextIds(tokenizer, Strand).Count;
        Assert.Equal(2, memory.ContextsCompressed);
        Assert.Equal(miraTokens + strandTokens, memory.ContextTokens);
        Assert.Equal(compressor.Options.MemoryCount(miraTokens) + compressor.Options.MemoryCount(strandTokens), memory.MemoryTokens);
        Assert.True(memory.MemoryTokens * 3 < memory.ContextTokens, "4x memory should be far shorter than the passages");
        Assert.Equal(compressor.Options.MemoryCount(miraTokens) + 1 + MemoryAnswerer.PromptIds(tokenizer, Examples[0].Question).Count,
            result.Modes[1].Records[0].InputTokens);
        Assert.True(memory.CompressionTime > TimeSpan.Zero && memory.AnswerTime > TimeSpan.Zero);

        // The answer loss reads the memory the answer was generated from (no second compression) and scores what the
        // QA stage trains on: the question after [memory][<qa>], the gold answer as targets.
        var c = Examples[2];
        using var fresh = compressor.Compress([MemoryAnswerer.ContextIds(tokenizer, c.Context)]);
        using var expected = new MemoryDecoder(compressor).Loss(fresh,
            [new DecoderExample(TaskToken.Answer, MemoryAnswerer.PromptIds(tokenizer, c.Question), tokenizer.Encode(" " + c.Answers[0].Text))]);
        Assert.Equal(expected.Mean.item<float>(), result.Modes[1].Records[2].AnswerLoss!.Value, 4);
        Assert.All(result.Modes, mode => Assert.All(mode.Records, r => Assert.InRange(r.AnswerLoss!.Value, 0.01, 50)));
    }

    [Fact]
    public void The_control_reads_the_next_passages_memory_and_needs_two_passages()
    {
        var (model, tokenizer) = TinyModel();
        var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 16 }, seed: 3);
        compressor.eval();
        using var own = new MemoryAnswerer(compressor, tokenizer);
        using var other = MemoryAnswerer.FromOtherPassages(compressor, tokenizer, Examples);
        Assert.Equal(("memory", MemoryAnswerer.OtherPassageMode), (own.Mode, other.Mode));

        // Mira's questions read Strand's memory and Strand's read Mira's (the last passage wraps to the first).
        var miraAskedOfStrand = Examples[0] with { Context = Strand };
        var strandAskedOfMira = Examples[2] with { Context = Mira };
        Assert.Equal(own.InputLength(miraAskedOfStrand), other.InputLength(Examples[0]));
        Assert.NotEqual(own.InputLength(Examples[0]), other.InputLength(Examples[0]));
        Assert.Equal(own.AnswerLoss(miraAskedOfStrand), other.AnswerLoss(Examples[0]), 5);
        Assert.Equal(own.AnswerLoss(strandAskedOfMira), other.AnswerLoss(Examples[2]), 5);
        Assert.NotEqual(own.AnswerLoss(Examples[0]), other.AnswerLoss(Examples[0]), 3);

        var error = Assert.Throws<InvalidInputException>(() => MemoryAnswerer.FromOtherPassages(compressor, tokenizer, Examples[..2]));
        Assert.Contains("at least two different passages", error.Message);
    }
}
