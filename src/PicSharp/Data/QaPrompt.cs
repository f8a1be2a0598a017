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
}
