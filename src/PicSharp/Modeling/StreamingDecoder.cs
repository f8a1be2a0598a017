namespace PicSharp.Modeling;

/// <summary>
/// Turns generated tokens into text pieces for streaming. Byte-level tokens can split a multi-byte character, so each
/// push decodes the whole sequence and returns only what is new, holding text back while it ends in U+FFFD (an
/// incomplete UTF-8 sequence that the next token may complete).
/// </summary>
public sealed class StreamingDecoder(Func<IReadOnlyList<int>, string> decode)
{
    readonly List<int> tokens = [];
    string emitted = "";

    public IReadOnlyList<int> Tokens => tokens;

    /// <summary>The text this token adds, or "" while a character is incomplete.</summary>
    public string Push(int token)
    {
        tokens.Add(token);
        string text = decode(tokens);
        return text.EndsWith('\uFFFD') ? "" : Emit(text);
    }

    /// <summary>Whatever is still held back (a character that never completed), at the end of generation.</summary>
    public string Flush() => Emit(decode(tokens));

    string Emit(string text)
    {
        // Text already printed cannot be taken back; if a decoder rewrote earlier text, only the tail is new.
        string fresh = text.Length > emitted.Length ? text[emitted.Length..] : "";
        emitted = text;
        return fresh;
    }
}
