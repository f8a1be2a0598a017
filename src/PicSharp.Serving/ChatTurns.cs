namespace PicSharp.Serving;

/// <summary>
/// How a chat becomes compress-and-ask: the last user message is the question; the text of every message before it
/// (system prompt, documents, earlier turns) joined by blank lines is the context, which is compressed and cached.
/// </summary>
public static class ChatTurns
{
    /// <summary>The roles a chat may use; a tool or function message has no meaning here and is refused, not guessed at.</summary>
    public static readonly IReadOnlyList<string> Roles = ["system", "developer", "user", "assistant"];

    /// <returns>the context (null when nothing precedes the question) and the question.</returns>
    public static (string? Context, string Question) Split(IReadOnlyList<(string Role, string Text)> messages)
    {
        if (messages.Count == 0) throw new EmptyTextException("the chat has no messages");
        for (int i = 0; i < messages.Count; i++)
            if (!Roles.Contains(messages[i].Role))
                throw new InvalidInputException($"messages[{i}] has role '{messages[i].Role}'; this server reads the roles {string.Join(", ", Roles)}");
        int last = messages.Count - 1;
        while (last >= 0 && messages[last].Role != "user") last--;
        if (last < 0) throw new EmptyTextException("the chat has no user message to answer");
        if (EmptyTextException.IsBlank(messages[last].Text)) throw new EmptyTextException($"the last user message (message {last}) is empty");
        string context = string.Join("\n\n", messages.Take(last).Select(m => m.Text).Where(t => !EmptyTextException.IsBlank(t)));
        return (context.Length == 0 ? null : context, messages[last].Text);
    }
}
