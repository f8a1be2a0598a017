using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Evaluation;

/// <summary>One predicted token: its index in the input, its id, and log p(token | the tokens before it in its window).</summary>
public sealed record ScoredToken(int Position, int TokenId, double LogProbability);

/// <param name="Tokens">every token from the second on (the first has nothing to be predicted from).</param>
public sealed record PerplexityResult(IReadOnlyList<ScoredToken> Tokens, int WindowLength)
{
    public double MeanLogProbability => Tokens.Average(t => t.LogProbability);
    public double Perplexity => Math.Exp(-MeanLogProbability);
}

/// <summary>Per-token log-probabilities of a token sequence under a causal LM, and its perplexity.</summary>
public static class Perplexity
{
    /// <summary>
    /// Scores tokens 1..n-1. Inputs longer than the window are cut into windows of <paramref name="windowLength"/>
    /// tokens (default: max_position_embeddings) that overlap by one token, so every token is scored exactly once
    /// and the context resets at each window start.
    /// </summary>
    public static PerplexityResult Evaluate(LlamaForCausalLM model, IReadOnlyList<int> tokenIds, int? windowLength = null)
    {
        int window = windowLength ?? model.Config.MaxPositionEmbeddings;
        if (window < 2) throw new InvalidInputException($"a window needs at least 2 tokens, got {window}");
        if (window > model.Config.MaxPositionEmbeddings)
            throw new InvalidInputException($"a window of {window} tokens is longer than the model reads (max_position_embeddings {model.Config.MaxPositionEmbeddings})");
        Validate(tokenIds, model.Config.VocabSize);

        using var _ = no_grad();
        var scored = new List<ScoredToken>(tokenIds.Count - 1);
        for (int start = 0; start < tokenIds.Count - 1; start += window - 1)
        {
            int end = Math.Min(start + window, tokenIds.Count);
            var logProbabilities = ScoreWindow(model, tokenIds.Skip(start).Take(end - start).ToArray());
            for (int i = 0; i < logProbabilities.Length; i++)
                scored.Add(new ScoredToken(start + 1 + i, tokenIds[start + 1 + i], logProbabilities[i]));
        }
        return new PerplexityResult(scored, window);
    }

    static void Validate(IReadOnlyList<int> tokenIds, int vocabSize)
    {
        if (tokenIds.Count == 0) throw new InvalidInputException("the input is empty: there are no tokens to score");
        if (tokenIds.Count == 1) throw new InvalidInputException("the input has a single token: perplexity needs at least 2 (the first token is never predicted)");
        for (int i = 0; i < tokenIds.Count; i++)
            if (tokenIds[i] < 0 || tokenIds[i] >= vocabSize)
                throw new InvalidInputException(
                    $"token id {tokenIds[i]} at position {i} is outside the model's vocabulary [0, {vocabSize})");
    }

    /// <summary>log p(ids[i+1] | ids[..i+1]) for i in 0..len-2.</summary>
    static double[] ScoreWindow(LlamaForCausalLM model, int[] ids)
    {
        using var scope = NewDisposeScope();
        var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        var logits = model.Logits(model.ForwardTokens(input))[0, ..^1].to(ScalarType.Float32);
        var targets = input[0, 1..].unsqueeze(1);
        var picked = logits.log_softmax(-1).gather(1, targets).squeeze(1).to(ScalarType.Float64);
        return picked.data<double>().ToArray();
    }
}
