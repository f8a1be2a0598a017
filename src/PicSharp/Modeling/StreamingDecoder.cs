namespace PicSharp.Modeling;

/// <summary>
/// One generated row's text, as it grows: the only place that turns tokens into text and applies the stop strings.
/// Byte-level tokens can split a multi-byte character, so each push decodes the whole sequence and returns only what
/// is new, holding text back while it ends in U+FFFD (an incomplete UTF-8 sequence that the next token may complete)
/// or in what may be the start of a stop string. Everything from the first stop string on is withheld. With
/// <c>trim</c>, the text has no leading or trailing white space (trailing white space is held until more text follows
/// it), so the pieces always add up to <see cref="Text"/>.
/// </summary>
public sealed class StreamingDecoder(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<string>? stopStrings = null, bool trim = false)
{
    readonly IReadOnlyList<string> stops = stopStrings ?? [];
    readonly List<int> tokens = [];
    string text = "";
    string emitted = "";

    public IReadOnlyList<int> Tokens => tokens;
    /// <summary>Whether a stop string appeared; <see cref="StopString"/> is the one found first in the text.</summary>
    public bool Stopped => StopString is not null;
    public string? StopString { get; private set; }

    /// <summary>The whole text so far, up to the stop string (trimmed when asked): what the pieces add up to at the end.</summary>
    public string Text
    {
        get
        {
            string kept = Stopped ? text[..StopIndex(text)!.Value.At] : text;
            return trim ? kept.Trim() : kept;
        }
    }

    /// <summary>The text this token adds that is safe to show now, or "" while a character, a possible stop string or
    /// trailing white space is held back. Nothing is added once a stop string appeared.</summary>
    public string Push(int token)
    {
        if (Stopped) return "";
        tokens.Add(token);
        text = decode(tokens);
        if (StopIndex(text) is var (at, hit))
        {
            StopString = hit;
            return Release(text[..at]);
        }
        if (text.EndsWith('\uFFFD')) return "";
        return Release(text[..^HeldSuffixLength(text)]);
    }

    /// <summary>Whatever is still held back at the end of generation (a character that never completed, a partial stop
    /// string that never completed).</summary>
    public string Flush() => Stopped ? "" : Release(text);

    // The earliest stop string in the text (on a tie, the first listed).
    (int At, string Hit)? StopIndex(string whole)
    {
        (int At, string Hit)? first = null;
        foreach (string stop in stops)
            if (whole.IndexOf(stop, StringComparison.Ordinal) is int at and >= 0 && (first is null || at < first.Value.At))
                first = (at, stop);
        return first;
    }

    // The longest end of the text that is the beginning of a stop string.
    int HeldSuffixLength(string whole)
    {
        int held = 0;
        foreach (string stop in stops)
            for (int length = Math.Min(stop.Length - 1, whole.Length); length > held; length--)
                if (whole.EndsWith(stop[..length], StringComparison.Ordinal)) { held = length; break; }
        return held;
    }

    // Text already shown cannot be taken back; if a decoder rewrote earlier text, only the tail is new.
    string Release(string shown)
    {
        if (trim) shown = shown.Trim();
        string fresh = shown.Length > emitted.Length ? shown[emitted.Length..] : "";
        if (shown.Length > emitted.Length) emitted = shown;
        return fresh;
    }
}
