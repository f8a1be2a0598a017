namespace PicSharp.Serving.Tests;

/// <summary>Special tokens come only from our code: `&lt;|eos|&gt;` or `&lt;|bos|&gt;` typed in a document or a question is text.</summary>
[Collection(nameof(TinyService))]
public sealed class SpecialTokenTests(TinyService tiny)
{
    const string Typed = "Marta <|eos|> painted <|bos|> the tower <|pad|>.";

    [Fact]
    public void Special_tokens_typed_in_a_document_or_question_are_plain_text()
    {
        using var engine = tiny.OpenEngine();
        var special = new[] { engine.Tokenizer.BosTokenId!.Value, engine.Tokenizer.EosTokenId!.Value, engine.Tokenizer.PadTokenId!.Value };

        var context = engine.Tokenize(Typed);
        Assert.DoesNotContain(context, special.Contains);
        Assert.Equal(Typed, engine.Tokenizer.Decode(context));
        using (var memory = engine.Compress(context))
            Assert.DoesNotContain(engine.Answerer.FromMemory(memory, Typed, 1).Prompt, special.Contains);
        // The full-context prompt has exactly one special token, the BOS our code puts first.
        var answer = engine.Answerer.Answer([engine.Answerer.FromText(Typed, Typed, 1)])[0];
        Assert.Equal(1 + engine.Tokenize(PicSharp.Data.QaPrompt.Prompt(Typed, Typed)).Count, answer.PromptTokens);
    }
}
