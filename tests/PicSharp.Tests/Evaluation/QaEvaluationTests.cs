using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using TorchSharp;

namespace PicSharp.Tests.Evaluation;

public class QaEvaluationTests
{
    static readonly string[] Sentences =
    [
        "Mira Kelvane was born in Dorport and works as a baker.\n\nQuestion: Where was Mira born?\nAnswer: Dorport\n",
        "The Strand Company was founded in 1921 by Otto Brael.\n\nQuestion: Who founded the company?\nAnswer: Otto Brael\n",
        "Paris is the capital of France. Lyon is a city in France.\n\nQuestion: What is the capital?\nAnswer: Paris\n",
    ];

    static TextTokenizer Tokenizer(IReadOnlyList<string>? specialTokens = null) => BpeTrainer.Train(Sentences,
        new BpeTrainerOptions { VocabSize = 320, MinFrequency = 1, SpecialTokens = specialTokens ?? ["<|bos|>", "<|eos|>", "<|pad|>"] });

    static LlamaForCausalLM Model(TextTokenizer tokenizer, int maxPositions = 512)
    {
        var config = new LlamaConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 1,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 16, MaxPositionEmbeddings = maxPositions,
            BosTokenId = tokenizer.BosTokenId, EosTokenIds = tokenizer.EosTokenId is int eos ? [eos] : [],
        };
        var model = new LlamaForCausalLM(config);
        model.InitializeWeights(11);
        model.eval();
        return model;
    }

    static SquadExample Example(string id, string context, string question, params string[] answers) =>
        new(id, "test", context, question, answers.Select(a => new SquadAnswer(a, context.IndexOf(a, StringComparison.Ordinal))).ToList());

    static readonly SquadExample Paris = Example("q1", "Paris is the capital of France.", "What is the capital of France?", "Paris");

    [Fact]
    public void Prompt_is_bos_then_the_tokens_of_the_qa_prompt()
    {
        var tokenizer = Tokenizer();
        var model = Model(tokenizer);
        int bos = tokenizer.BosTokenId!.Value;

        Assert.Equal([bos, .. tokenizer.Encode(QaPrompt.Prompt(Paris.Context, Paris.Question))],
            LanguageModelAnswerer.FullContext(model, tokenizer).PromptIds(Paris));
        Assert.Equal([bos, .. tokenizer.Encode(QaPrompt.Prompt(null, Paris.Question))],
            LanguageModelAnswerer.NoContext(model, tokenizer).PromptIds(Paris));
    }

    [Fact]
    public void Prompt_has_no_bos_when_the_tokenizer_has_none()
    {
        var tokenizer = Tokenizer(["<|eos|>"]);
        Assert.Null(tokenizer.BosTokenId);
        var answerer = LanguageModelAnswerer.FullContext(Model(tokenizer), tokenizer);
        Assert.Equal(tokenizer.Encode(QaPrompt.Prompt(Paris.Context, Paris.Question)), answerer.PromptIds(Paris));
        Assert.Equal(answerer.PromptIds(Paris).Count, answerer.InputLength(Paris));
    }

    /// <summary>Answers from a fixed table and reports the context's length in characters as its input length.</summary>
    sealed class TableAnswerer(string mode, Func<SquadExample, string> answer, Func<SquadExample, int>? inputLength = null) : IQaAnswerer
    {
        public List<string> Asked { get; } = [];
        public string Mode => mode;
        public int InputLength(SquadExample example) => (inputLength ?? (e => e.Context.Length))(example);
        public string Answer(SquadExample example) { Asked.Add(example.Id); return answer(example); }
        public double AnswerLoss(SquadExample example) => example.Question.Length / 10.0;
    }

    static readonly SquadExample[] Examples =
    [
        Example("a", "The river Sol flows north.", "Which way does the Sol flow?", "north", "northward"),
        Example("b", "Anna Bell was born in 1970 in the town of Rell.", "When was Anna born?", "1970"),
        Example("c", "The Grey Owl Society meets on Tuesdays.", "What meets on Tuesdays?", "The Grey Owl Society"),
    ];

    [Fact]
    public void Gold_answers_score_one_and_wrong_answers_zero()
    {
        var result = QaEvaluation.Evaluate(
            [new TableAnswerer("gold", e => e.Answers[^1].Text), new TableAnswerer("wrong", _ => "banana")], Examples, 1000);

        var gold = result.Modes[0];
        Assert.Equal(("gold", 3, 1.0, 1.0), (gold.Mode, gold.Count, gold.ExactMatch, gold.F1));
        var wrong = result.Modes[1];
        Assert.Equal(("wrong", 3, 0.0, 0.0), (wrong.Mode, wrong.Count, wrong.ExactMatch, wrong.F1));
        Assert.Empty(result.Skipped);
    }

    [Fact]
    public void Scores_are_the_best_over_gold_answers_and_the_mean_over_examples()
    {
        // a: matches the first of two golds; b: wrong; c: "Grey Owl" shares 2 of 3 normalised gold tokens.
        var answers = new Dictionary<string, string> { ["a"] = "North.", ["b"] = "1971", ["c"] = "Grey Owl" };
        var mode = QaEvaluation.Evaluate([new TableAnswerer("m", e => answers[e.Id])], Examples, 1000).Modes[0];

        Assert.Equal([1.0, 0.0, 0.0], mode.Records.Select(r => r.ExactMatch));
        double partialF1 = 2 * 1.0 * (2.0 / 3) / (1.0 + 2.0 / 3);
        Assert.Equal(1.0, mode.Records[0].F1, 12);
        Assert.Equal(partialF1, mode.Records[2].F1, 12);
        Assert.Equal(1.0 / 3, mode.ExactMatch, 12);
        Assert.Equal((1.0 + 0.0 + partialF1) / 3, mode.F1, 12);
        Assert.Equal(["north", "northward"], mode.Records[0].Golds);
        Assert.Equal(Examples[1].Context.Length, mode.Records[1].InputTokens);
    }

    [Fact]
    public void Answer_losses_are_scored_only_when_asked_for_and_only_for_examples_with_an_answer()
    {
        SquadExample unanswered = new("u", "test", "No answer here.", "What is missing?", []);
        var answerer = new TableAnswerer("m", _ => "x");

        var plain = QaEvaluation.Evaluate([answerer], [.. Examples, unanswered], 1000).Modes[0];
        Assert.All(plain.Records, r => Assert.Null(r.AnswerLoss));
        Assert.Null(plain.AnswerLoss);

        var scored = QaEvaluation.Evaluate([answerer], [.. Examples, unanswered], 1000, answerLoss: true).Modes[0];
        Assert.Equal([.. Examples.Select(e => (double?)(e.Question.Length / 10.0)), null], scored.Records.Select(r => r.AnswerLoss));
        Assert.Equal(Examples.Average(e => e.Question.Length / 10.0), scored.AnswerLoss!.Value, 12);
    }

    [Fact]
    public void Answer_loss_is_the_mean_negative_log_probability_of_the_gold_answer_after_the_prompt()
    {
        var tokenizer = Tokenizer();
        var model = Model(tokenizer);
        var full = LanguageModelAnswerer.FullContext(model, tokenizer);
        var prompt = full.PromptIds(Paris);
        var answer = tokenizer.Encode(" Paris");
        Assert.Equal(answer, QaGeneration.GoldAnswerIds(tokenizer, Paris));

        // Independently: one forward over prompt + answer; answer token i is predicted at position prompt + i - 1.
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = torch.tensor(prompt.Concat(answer).Select(i => (long)i).ToArray()).unsqueeze(0);
        var logProbabilities = torch.nn.functional.log_softmax(model.Logits(model.ForwardTokens(ids))[0].to(torch.ScalarType.Float32), -1);
        double expected = -Enumerable.Range(0, answer.Count).Average(i => logProbabilities[prompt.Count + i - 1, answer[i]].item<float>());

        Assert.Equal(expected, full.AnswerLoss(Paris), 5);
    }

    [Fact]
    public void A_model_that_says_the_gold_answer_gives_it_a_lower_loss_than_another_answer()
    {
        var tokenizer = Tokenizer();
        var promptIds = LanguageModelAnswerer.FullContext(Model(tokenizer), tokenizer).PromptIds(Paris);
        var model = ChainModel(tokenizer, promptIds[^1], tokenizer.Encode(" Paris"));
        using (torch.no_grad()) model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.mul_(20); // a confident model
        var full = LanguageModelAnswerer.FullContext(model, tokenizer);
        var lyon = Paris with { Answers = [new SquadAnswer("Lyon", -1)] };

        double said = full.AnswerLoss(Paris), other = full.AnswerLoss(lyon);
        Assert.True(said < 0.5 && other > 3, $"gold answer the model says: {said:F3} nats/token; another answer: {other:F3}");
    }

    [Fact]
    public void Examples_too_long_for_any_mode_are_skipped_for_all_modes_and_never_answered()
    {
        // Context lengths: a 26, b 47, c 39. The short mode fits everything; the long mode (+10) pushes c past 45.
        var shortInput = new TableAnswerer("short", e => e.Answers[0].Text);
        var longInput = new TableAnswerer("long", e => e.Answers[0].Text, e => e.Context.Length + 10);

        var result = QaEvaluation.Evaluate([shortInput, longInput], Examples, maxInputLength: 45);

        Assert.Equal(3, result.Examples);
        Assert.Equal([new QaSkip("b", "short", 47), new QaSkip("c", "long", 49)], result.Skipped);
        Assert.Equal(["a"], shortInput.Asked);
        Assert.Equal(["a"], longInput.Asked);
        Assert.All(result.Modes, mode => Assert.Equal(1, mode.Count));
    }

    [Fact]
    public void The_input_limit_leaves_room_for_the_answer()
    {
        var tokenizer = Tokenizer();
        var model = Model(tokenizer, maxPositions: 40);
        Assert.Equal(40 - 32, QaEvaluation.InputLimit(model.Config));
        Assert.Equal(30, QaEvaluation.InputLimit(model.Config, maxNewTokens: 10));

        var full = LanguageModelAnswerer.FullContext(model, tokenizer, maxNewTokens: 4);
        var none = LanguageModelAnswerer.NoContext(model, tokenizer, maxNewTokens: 4);
        int fullLength = full.InputLength(Paris), noneLength = none.InputLength(Paris);
        Assert.True(noneLength < fullLength);

        var fits = QaEvaluation.Evaluate([full, none], [Paris], maxInputLength: fullLength);
        Assert.Empty(fits.Skipped);
        Assert.Equal([fullLength, noneLength], fits.Modes.Select(m => m.Records[0].InputTokens));
        var skipped = QaEvaluation.Evaluate([full, none], [Paris], maxInputLength: fullLength - 1);
        Assert.Equal([new QaSkip("q1", "full", fullLength)], skipped.Skipped);
    }

    /// <summary>
    /// A model that, after <paramref name="first"/>, greedily produces <paramref name="chain"/> token by token: every
    /// layer's output projections are zero, so the last hidden state is the current token's (normalised) embedding,
    /// and row chain[i] of lm_head is the embedding of the token before it.
    /// </summary>
    static LlamaForCausalLM ChainModel(TextTokenizer tokenizer, int first, IReadOnlyList<int> chain)
    {
        Assert.Equal(chain.Count + 1, chain.Append(first).Distinct().Count());
        var model = Model(tokenizer);
        using var _ = torch.no_grad();
        foreach (var (name, parameter) in model.named_parameters())
            if (name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") || name == "lm_head.weight")
                parameter.zero_();
        var embeddings = model.Body.EmbedTokens.weight!;
        var head = model.named_parameters().Single(p => p.name == "lm_head.weight").parameter;
        int previous = first;
        foreach (int next in chain)
        {
            head[next].copy_(embeddings[previous]);
            previous = next;
        }
        return model;
    }

    [Fact]
    public void Generation_stops_at_the_end_of_the_line_and_the_answer_is_the_trimmed_line()
    {
        var tokenizer = Tokenizer();
        var promptIds = LanguageModelAnswerer.FullContext(Model(tokenizer), tokenizer).PromptIds(Paris);
        int newline = tokenizer.TokenId("Ċ")!.Value;
        var answerTokens = tokenizer.Encode(" Paris").ToList();
        var after = tokenizer.Encode("Question").ToList();
        List<int> chain = [.. answerTokens, newline, .. after];
        var model = ChainModel(tokenizer, promptIds[^1], chain);

        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(promptIds.Select(i => (long)i).ToArray()).unsqueeze(0);
        var options = QaGeneration.Options(tokenizer, model.Config, maxNewTokens: 12);
        var generated = TextGeneration.Generate(model, model.Embed(ids), options, decode: t => QaGeneration.Decode(tokenizer, t));

        Assert.Equal((StopReason.StopString, "\n"), (generated.Reason, generated.StopString));
        Assert.Equal([.. answerTokens, newline], generated.Tokens);
        Assert.Equal("Paris", LanguageModelAnswerer.FullContext(model, tokenizer, maxNewTokens: 12).Answer(Paris));
    }

    [Fact]
    public void Generation_stops_at_eos()
    {
        var tokenizer = Tokenizer();
        var promptIds = LanguageModelAnswerer.NoContext(Model(tokenizer), tokenizer).PromptIds(Paris);
        var answerTokens = tokenizer.Encode(" Lyon").ToList();
        int eos = tokenizer.EosTokenId!.Value;
        var model = ChainModel(tokenizer, promptIds[^1], [.. answerTokens, eos, .. tokenizer.Encode("Question")]);

        Assert.Equal("Lyon", LanguageModelAnswerer.NoContext(model, tokenizer, maxNewTokens: 12).Answer(Paris));
    }

    [Fact]
    public void Answer_text_is_cut_at_the_first_newline_and_ignores_ids_the_tokenizer_lacks()
    {
        var tokenizer = Tokenizer();
        var ids = tokenizer.Encode("  Otto Brael \nQuestion: who").ToList();
        Assert.Equal("Otto Brael", AnswerText(tokenizer, ids));
        Assert.Equal("Otto Brael", AnswerText(tokenizer, [.. ids.Take(3), tokenizer.VocabSize + 5, .. ids.Skip(3)]));
        Assert.Equal("", AnswerText(tokenizer, [tokenizer.EosTokenId!.Value]));
    }

    // The answer text of generated ids as generation makes it: each row's decoder under the QA options.
    static string AnswerText(TextTokenizer tokenizer, IReadOnlyList<int> generated)
    {
        var options = QaGeneration.Options(tokenizer, new LlamaConfig());
        var decoder = new StreamingDecoder(ids => QaGeneration.Decode(tokenizer, ids), options.StopStrings, options.TrimText);
        foreach (int id in generated) decoder.Push(id);
        return decoder.Text;
    }
}
