using System.Text;

namespace PicSharp.Data;

/// <summary>
/// The one text format of a QA example for every model in PicSharp: training, evaluation and the no-context baseline
/// all build prompts here. Generation stops at EOS or at "\n".
/// </summary>
public static class QaPrompt
{
    /// <summary>`context + "\n\nQuestion: " + question + "\nAnswer:"`, or without the context part when it is null.</summary>
    public static string Prompt(string? context, string question) =>
        context is null ? $"Question: {question}\nAnswer:" : $"{context}\n\nQuestion: {question}\nAnswer:";

    /// <summary>The text the model should produce after the prompt.</summary>
    public static string Target(string answer) => " " + answer;

    /// <summary>
    /// Training texts: each run of consecutive examples that share a context (a SQuAD paragraph) becomes one text,
    /// the context once and then every question with its first gold answer, each pair in the prompt's format.
    /// A context asked once gives exactly <c>Prompt + Target</c>. Examples without an answer are left out.
    /// </summary>
    /// <remarks>Asking a context several times in one text puts more answer tokens into each training sequence than
    /// repeating the context for every question.</remarks>
    public static IEnumerable<string> TrainingTexts(IEnumerable<SquadExample> examples)
    {
        StringBuilder? text = null;
        string? context = null;
        foreach (var example in examples.Where(e => e.Answers.Count > 0))
        {
            if (text is not null && example.Context == context)
                text.Append("\n\n").Append(Prompt(null, example.Question));
            else
            {
                if (text is not null) yield return text.ToString();
                text = new StringBuilder(Prompt(example.Context, example.Question));
                context = example.Context;
            }
            text.Append(Target(example.Answers[0].Text));
        }
        if (text is not null) yield return text.ToString();
    }
}
