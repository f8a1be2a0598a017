namespace PicSharp.Storage;

/// <summary>
/// An exclusive claim on a file that is read, changed and written back (`pic append` on a memory file), so two such
/// changes never run at once and neither is lost: the second is refused, naming the holder. The claim is the sibling
/// `.NAME.lock` (see <see cref="LockFile"/>); readers do not take it, and the file itself is replaced by an atomic
/// rename, so a reader sees the old file or the new one.
/// Usage: <c>using var claim = FileClaim.Acquire(path);</c>
/// </summary>
public sealed class FileClaim : IDisposable
{
    readonly FileStream file;

    FileClaim(FileStream file) => this.file = file;

    public static FileClaim Acquire(string path)
    {
        string full = Path.GetFullPath(path);
        string lockPath = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
        return new FileClaim(LockFile.Acquire(lockPath, lockPath + ".pid",
            holder => new FileInUseException($"{path} is being changed by {holder} (it holds {lockPath}); wait for it to finish")));
    }

    public void Dispose() => file.Dispose();
}
