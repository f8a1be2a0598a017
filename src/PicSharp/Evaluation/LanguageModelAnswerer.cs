using PicSharp.Data;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Evaluation;

/// <summary>
/// A base LM answering from a plain-text prompt: BOS (when the tokenizer has one) + the tokens of
/// <see cref="QaPrompt.Prompt"/>, with the context (upper bound) or without it (lower bound: what the model knows or
/// guesses from the question alone).
/// </summary>
public sealed class LanguageModelAnswerer : IQaAnswerer
{
    readonly LlamaForCausalLM model;
    readonly TextTokenizer tokenizer;
    readonly bool withContext;
    readonly GenerationOptions options;

    LanguageModelAnswerer(LlamaForCausalLM model, TextTokenizer tokenizer, bool withContext, int maxNewTokens)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.withContext = withContext;
        options = QaGeneration.Options(tokenizer, model.Config, maxNewTokens);
    }

    public static LanguageModelAnswerer FullContext(LlamaForCausalLM model, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens) =>
        new(model, tokenizer, withContext: true, maxNewTokens);

    public static LanguageModelAnswerer NoContext(LlamaForCausalLM model, TextTokenizer tokenizer, int maxNewTokens = QaGeneration.DefaultMaxNewTokens) =>
        new(model, tokenizer, withContext: false, maxNewTokens);

    public string Mode => withContext ? "full" : "none";

    public IReadOnlyList<int> PromptIds(SquadExample example) =>
        tokenizer.EncodeWithBos(QaPrompt.Prompt(withContext ? example.Context : null, example.Question));

    public int InputLength(SquadExample example) => PromptIds(example).Count;

    public string Answer(SquadExample example)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(PromptIds(example).Select(id => (long)id).ToArray()).unsqueeze(0);
        var result = TextGeneration.Generate(model, model.Embed(ids), options, decode: tokens => QaGeneration.Decode(tokenizer, tokens));
        return QaGeneration.AnswerText(tokenizer, result.Tokens);
    }

    public double AnswerLoss(SquadExample example)
    {
        var prompt = PromptIds(example);
        var answer = QaGeneration.GoldAnswerIds(tokenizer, example);
        var scored = Perplexity.Evaluate(model, [.. prompt, .. answer]).Tokens;
        return -scored.TakeLast(answer.Count).Average(t => t.LogProbability);
    }
}
