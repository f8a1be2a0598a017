namespace PicSharp.Modeling;

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
