using System.Text;

namespace PicSharp.Storage;

/// <summary>
/// Writes files so that readers see either the old file or the complete new one, never a half-written one:
/// the bytes go to a temporary file in the same folder (same file system), which is then renamed over the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Whether <paramref name="name"/> is the temporary file of an unfinished <see cref="Write"/>
    /// (".target.guid.tmp"; a process killed while writing leaves one behind).</summary>
    public static bool IsTemporary(string name)
    {
        if (!name.StartsWith('.') || !name.EndsWith(".tmp", StringComparison.Ordinal)) return false;
        string[] parts = name[..^".tmp".Length].Split('.');
        return parts.Length >= 3 && Guid.TryParseExact(parts[^1], "N", out _);
    }

    public static void Write(string path, Action<Stream> write)
    {
        string fullPath = Path.GetFullPath(path);
        OutputPath.RequireFile(fullPath);
        string folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        string temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream => stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text)));
}
