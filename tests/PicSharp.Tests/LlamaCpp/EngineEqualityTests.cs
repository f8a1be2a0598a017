using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.LlamaCpp;

namespace PicSharp.Tests.LlamaCpp;

/// <summary>
/// The llama.cpp engine against TorchSharp's on one random fp32 model (fp32 GGUF, F32 KV cache): the same questions
/// get the same greedy answers, from memory and from text, one at a time and as one batch of sequences.
/// </summary>
public sealed class EngineEqualityTests(LlamaCppModel tiny, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<LlamaCppModel>
{
    const int AnswerTokens = 12;

    // Question i asks about context i / 2 (two questions per memory row).
    static int RowOf(int question) => question / 2;

    void AssertSame(IReadOnlyList<AnswerResult> torch, IReadOnlyList<AnswerResult> llama)
    {
        Assert.Equal(torch.Count, llama.Count);
        output.WriteLine(string.Join(" | ", llama.Select(r => $"{r.Text} ({r.AnswerTokens}, {r.Reason})")));
        for (int i = 0; i < torch.Count; i++)
        {
            Assert.Equal(torch[i].Text, llama[i].Text);
            Assert.Equal(torch[i].AnswerTokens, llama[i].AnswerTokens);
            Assert.Equal(torch[i].Reason, llama[i].Reason);
            Assert.Equal(torch[i].PromptTokens, llama[i].PromptTokens);
        }
        // Answers a few tokens long, so equality says something about decoding, not only the first token.
        Assert.True(torch.Sum(r => r.AnswerTokens) >= torch.Count * 3, $"answers too short to compare: {string.Join(" | ", torch.Select(r => r.Text))}");
    }

    [Fact]
    public void Greedy_answers_from_memory_are_the_same_on_both_engines_alone_and_batched()
    {
        using var memories = tiny.Memories();
        var torch = new TorchAnswerer(tiny.Model, tiny.Tokenizer, tiny.Compressor);
        using var llama = tiny.Open();
        var questions = LlamaCppModel.Questions;

        var torchAlone = questions.Select((q, i) => torch.Answer([torch.FromMemory(memories, q, AnswerTokens, RowOf(i))])[0]).ToList();
        var llamaAlone = questions.Select((q, i) => llama.Answer([llama.FromMemory(memories, q, AnswerTokens, RowOf(i))])[0]).ToList();
        var streamed = questions.Select(_ => new List<string>()).ToList();
        var llamaBatched = llama.Answer(questions.Select((q, i) => llama.FromMemory(memories, q, AnswerTokens, RowOf(i)) with
            { OnText = streamed[i].Add }).ToList());

        AssertSame(torchAlone, llamaAlone);
        AssertSame(torchAlone, llamaBatched);
        Assert.Equal(llamaBatched.Select(r => r.Text), streamed.Select(pieces => string.Concat(pieces)));
    }

    [Fact]
    public void Greedy_answers_from_the_full_context_and_from_nothing_are_the_same_on_both_engines()
    {
        var torch = new TorchAnswerer(tiny.Model, tiny.Tokenizer);
        using var llama = tiny.Open(compressor: null);
        var asked = LlamaCppModel.Questions.Select((q, i) => (Context: (string?)LlamaCppModel.Contexts[RowOf(i)], Question: q))
            .Append((null, "Who sold lamps?")).ToList();

        var torchAlone = asked.Select(a => torch.Answer([torch.FromText(a.Context, a.Question, AnswerTokens)])[0]).ToList();
        var llamaAlone = asked.Select(a => llama.Answer([llama.FromText(a.Context, a.Question, AnswerTokens)])[0]).ToList();
        var llamaBatched = llama.Answer(asked.Take(llama.Sequences).Select(a => llama.FromText(a.Context, a.Question, AnswerTokens)).ToList());

        AssertSame(torchAlone, llamaAlone);
        AssertSame(torchAlone.Take(llama.Sequences).ToList(), llamaBatched);
    }

    [Fact]
    public void Sampled_answers_with_one_seed_are_the_same_on_both_engines()
    {
        using var memories = tiny.Memories();
        var torch = new TorchAnswerer(tiny.Model, tiny.Tokenizer, tiny.Compressor);
        using var llama = tiny.Open();
        var sampling = new Sampling { Temperature = 0.8, TopP = 0.9, Seed = 5 };

        var torchAnswers = torch.Answer(LlamaCppModel.Questions.Select((q, i) => torch.FromMemory(memories, q, AnswerTokens, RowOf(i)) with { Sampling = sampling }).ToList());
        var llamaAnswers = llama.Answer(LlamaCppModel.Questions.Select((q, i) => llama.FromMemory(memories, q, AnswerTokens, RowOf(i)) with { Sampling = sampling }).ToList());
        var greedy = llama.Answer(LlamaCppModel.Questions.Select((q, i) => llama.FromMemory(memories, q, AnswerTokens, RowOf(i))).ToList());

        AssertSame(torchAnswers, llamaAnswers);
        Assert.NotEqual(greedy.Select(r => r.Text), llamaAnswers.Select(r => r.Text)); // sampling was applied, not ignored
    }
}
