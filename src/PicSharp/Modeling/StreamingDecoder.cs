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

/// <summary>
/// Streams text while keeping stop strings off the screen: text is released only once it cannot be the start of a stop
/// string, and everything from the first stop string on is withheld.
/// </summary>
public sealed class StopStringFilter(IReadOnlyList<string> stopStrings)
{
    string pending = "";

    public bool Stopped { get; private set; }

    /// <summary>The part of the text so far that is safe to print now.</summary>
    public string Push(string piece)
    {
        if (Stopped) return "";
        pending += piece;
        var hits = stopStrings.Select(s => pending.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).ToList();
        if (hits.Count > 0)
        {
            Stopped = true;
            return pending[..hits.Min()];
        }
        int keep = stopStrings.Select(HeldSuffixLength).DefaultIfEmpty(0).Max();
        string release = pending[..^keep];
        pending = pending[^keep..];
        return release;
    }

    /// <summary>What is still held at the end (a partial stop string that never completed).</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }

    // The longest end of the pending text that is the beginning of the stop string.
    int HeldSuffixLength(string stop)
    {
        for (int length = Math.Min(stop.Length - 1, pending.Length); length > 0; length--)
            if (pending.EndsWith(stop[..length], StringComparison.Ordinal)) return length;
        return 0;
    }
}
