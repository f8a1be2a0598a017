using PicSharp.Evaluation;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Evaluation;

public class PerplexityTests
{
    static readonly int[] Ids = [5, 17, 3, 60, 0, 22, 9, 41, 8, 13];

    [Fact]
    public void A_model_with_uniform_logits_has_perplexity_equal_to_the_vocabulary_size()
    {
        var model = TinyModels.Create(TinyModels.Config());
        using (no_grad())
            model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.zero_();

        var result = Perplexity.Evaluate(model, Ids);
        Assert.Equal(Ids.Length - 1, result.Tokens.Count);
        Assert.All(result.Tokens, t => Assert.Equal(-Math.Log(61), t.LogProbability, 1e-5));
        Assert.Equal(61.0, result.Perplexity, 1e-3);
    }

    [Fact]
    public void Windows_score_every_token_once_with_context_from_its_own_window()
    {
        var model = TinyModels.Create(TinyModels.Config());
        var result = Perplexity.Evaluate(model, Ids, windowLength: 4);

        Assert.Equal(Enumerable.Range(1, Ids.Length - 1), result.Tokens.Select(t => t.Position));
        Assert.Equal(Ids.Skip(1), result.Tokens.Select(t => t.TokenId));
        // Windows start at 0, 3, 6: token 5 is predicted from tokens 3 and 4 only.
        double expected = DirectLogProbability(model, Ids[3..5], Ids[5]);
        Assert.Equal(expected, result.Tokens.Single(t => t.Position == 5).LogProbability, 1e-5);
        // Without windows it sees tokens 0..4, which gives a different value.
        double full = Perplexity.Evaluate(model, Ids).Tokens.Single(t => t.Position == 5).LogProbability;
        Assert.Equal(DirectLogProbability(model, Ids[..5], Ids[5]), full, 1e-5);
        Assert.NotEqual(expected, full, 1e-4);
    }

    static double DirectLogProbability(LlamaForCausalLM model, int[] context, int next)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = model.Logits(model.ForwardTokens(tensor(context.Select(i => (long)i).ToArray()).unsqueeze(0)));
        return logits[0, -1].log_softmax(-1)[next].item<float>();
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        var model = TinyModels.Create(TinyModels.Config());
        var outOfRange = Assert.Throws<InvalidInputException>(() => Perplexity.Evaluate(model, [4, 61, 2]));
        Assert.Contains("token id 61 at position 1", outOfRange.Message);
        Assert.Contains("[0, 61)", outOfRange.Message);
        Assert.Throws<InvalidInputException>(() => Perplexity.Evaluate(model, [4, -1]));
        Assert.Contains("empty", Assert.Throws<InvalidInputException>(() => Perplexity.Evaluate(model, [])).Message);
        Assert.Contains("single token", Assert.Throws<InvalidInputException>(() => Perplexity.Evaluate(model, [4])).Message);
        Assert.Contains("at least 2", Assert.Throws<InvalidInputException>(() => Perplexity.Evaluate(model, Ids, windowLength: 1)).Message);
    }
}
