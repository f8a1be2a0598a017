using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class QaPromptTests
{
    static SquadExample Example(string context, string question, params string[] answers) =>
        new("id", "title", context, question, answers.Select(a => new SquadAnswer(a, context.IndexOf(a, StringComparison.Ordinal))).ToList());

    [Fact]
    public void A_context_asked_once_is_the_prompt_followed_by_the_answer()
    {
        var text = Assert.Single(QaPrompt.TrainingTexts([Example("Ada lives in Rome.", "Where does Ada live?", "Rome", "in Rome")]));
        Assert.Equal(QaPrompt.Prompt("Ada lives in Rome.", "Where does Ada live?") + QaPrompt.Target("Rome"), text);
    }

    [Fact]
    public void Consecutive_questions_on_one_context_share_one_text_and_others_start_a_new_one()
    {
        string first = "Ada lives in Rome. Bo lives in Oslo.", second = "Cy plays the oboe.";
        var texts = QaPrompt.TrainingTexts([
            Example(first, "Where does Ada live?", "Rome"),
            Example(first, "Where does Bo live?", "Oslo"),
            Example(second, "What does Cy play?"), // no answer: left out
            Example(second, "Which instrument does Cy play?", "oboe"),
            Example(first, "Who lives in Oslo?", "Bo"),
        ]).ToList();
        Assert.Equal([
            "Ada lives in Rome. Bo lives in Oslo.\n\nQuestion: Where does Ada live?\nAnswer: Rome\n\nQuestion: Where does Bo live?\nAnswer: Oslo",
            "Cy plays the oboe.\n\nQuestion: Which instrument does Cy play?\nAnswer: oboe",
            "Ada lives in Rome. Bo lives in Oslo.\n\nQuestion: Who lives in Oslo?\nAnswer: Bo",
        ], texts);
    }
}
