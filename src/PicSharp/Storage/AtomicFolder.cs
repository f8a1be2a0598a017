namespace PicSharp.Storage;

/// <summary>
/// A folder that is replaced as a whole (checkpoints, exported models, the corpus, unpacked packages): contents are
/// written into a temporary sibling, then swapped in by renames
/// (current → .old, temporary → current, delete .old). A failed write leaves the previous folder untouched, and a
/// crash between the two renames leaves the previous folder as .old, which <see cref="Find"/> falls back to.
/// </summary>
public static class AtomicFolder
{
    const string TemporaryInfix = ".tmp-";

    /// <summary>Whether <paramref name="name"/> is the temporary folder of an unfinished <see cref="Write"/> (a process
    /// killed while writing leaves one behind).</summary>
    public static bool IsTemporary(string name)
    {
        int at = name.LastIndexOf(TemporaryInfix, StringComparison.Ordinal);
        return at > 0 && Guid.TryParseExact(name[(at + TemporaryInfix.Length)..], "N", out _);
    }

    public static void Write(string dir, Action<string> writeContents)
    {
        string full = Path.GetFullPath(dir);
        OutputPath.RequireFolder(full);
        string parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        string temp = $"{full}{TemporaryInfix}{Guid.NewGuid():N}";
        string old = full + ".old";
        Directory.CreateDirectory(temp);
        try
        {
            writeContents(temp);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(temp, full);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>The complete checkpoint folder for <paramref name="dir"/>, or null when none was written.</summary>
    public static string? Find(string dir)
    {
        string full = Path.GetFullPath(dir);
        if (Directory.Exists(full)) return full;
        return Directory.Exists(full + ".old") ? full + ".old" : null;
    }
}
