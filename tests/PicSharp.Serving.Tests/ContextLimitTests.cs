namespace PicSharp.Serving.Tests;

/// <summary>A context limit above the model's positions is refused, not silently lowered.</summary>
[Collection(nameof(TinyService))]
public sealed class ContextLimitTests(TinyService tiny)
{
    [Fact]
    public void A_context_limit_above_the_model_positions_is_refused_with_the_numbers()
    {
        var error = Assert.Throws<InvalidInputException>(() => tiny.OpenEngine(maxContextTokens: 999_999));
        Assert.Contains("999999", error.Message);
        Assert.Contains("384", error.Message); // the tiny model's max_position_embeddings
        using var engine = tiny.OpenEngine(maxContextTokens: 384);
        Assert.Equal(384, engine.MaxContextTokens);
        using var lower = tiny.OpenEngine(maxContextTokens: 100);
        Assert.Equal(100, lower.MaxContextTokens);
    }
}
