using PicSharp.Answering;
using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Evaluation;

/// <summary>
/// A base LM answering from a plain-text prompt: BOS (when the tokenizer has one) + the tokens of
/// <see cref="QaPrompt.Prompt"/>, with the context (upper bound) or without it (lower bound: what the model knows or
/// guesses from the question alone). The answer comes from an <see cref="IAnswerer"/>, as in every command (TorchSharp's unless another is given).
/// </summary>
public sealed class LanguageModelAnswerer : IQaAnswerer
{
    readonly LlamaForCausalLM model;
    readonly TextTokenizer tokenizer;
    readonly bool withContext;
    readonly int maxNewTokens;
    readonly IAnswerer answerer;

    LanguageModelAnswerer(LlamaForCausalLM model, TextTokenizer tokenizer, bool withContext, int maxNewTokens, IAnswerer? answerer)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.withContext = withContext;
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "need at least one new token");
        this.maxNewTokens = maxNewTokens;
        this.answerer = answerer ?? new TorchAnswerer(model, tokenizer);
    }

    /// <param name="answerer">answers the prompts (default: <see cref="TorchAnswerer"/> on <paramref name="model"/>).</param>
    public static LanguageModelAnswerer FullContext(LlamaForCausalLM model, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens, IAnswerer? answerer = null) =>
        new(model, tokenizer, withContext: true, maxNewTokens, answerer);

    /// <param name="answerer">answers the prompts (default: <see cref="TorchAnswerer"/> on <paramref name="model"/>).</param>
    public static LanguageModelAnswerer NoContext(LlamaForCausalLM model, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens, IAnswerer? answerer = null) =>
        new(model, tokenizer, withContext: false, maxNewTokens, answerer);

    public string Mode => withContext ? "full" : "none";

    public IReadOnlyList<int> PromptIds(SquadExample example) =>
        QaGeneration.TextPromptIds(tokenizer, model.Config, Context(example), example.Question);

    string? Context(SquadExample example) => withContext ? example.Context : null;

    public int InputLength(SquadExample example) => PromptIds(example).Count;

    public string Answer(SquadExample example) =>
        answerer.Answer([answerer.FromText(Context(example), example.Question, maxNewTokens)])[0].Text;

    public double AnswerLoss(SquadExample example)
    {
        var prompt = PromptIds(example);
        var answer = QaGeneration.GoldAnswerIds(tokenizer, example);
        var scored = Perplexity.Evaluate(model, [.. prompt, .. answer]).Tokens;
        return -scored.TakeLast(answer.Count).Average(t => t.LogProbability);
    }
}
