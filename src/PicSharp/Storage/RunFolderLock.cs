namespace PicSharp.Storage;

/// <summary>
/// An exclusive claim on a run folder, so two processes never write one folder (checkpoints, metrics.jsonl, the
/// exported model). The claim is RUN/.lock, and RUN/.lock.pid names the holder (see <see cref="LockFile"/>). Once the
/// folder is claimed, the temporaries of unfinished <see cref="AtomicFolder"/>/<see cref="AtomicFile"/> writes in it can
/// only be a killed process's leftovers, so <see cref="Acquire"/> removes them.
/// Usage: <c>using var claim = RunFolderLock.Acquire(runDir);</c>
/// </summary>
public sealed class RunFolderLock : IDisposable
{
    public const string FileName = ".lock";
    public const string HolderFileName = ".lock.pid";

    readonly FileStream file;

    RunFolderLock(FileStream file, IReadOnlyList<string> removedLeftovers)
    {
        this.file = file;
        RemovedLeftovers = removedLeftovers;
    }

    /// <summary>Temporary files and folders of killed writes that <see cref="Acquire"/> removed (full paths).</summary>
    public IReadOnlyList<string> RemovedLeftovers { get; }

    /// <summary>Creates <paramref name="runDir"/> if needed and claims it, or throws <see cref="RunFolderInUseException"/>
    /// naming the process that holds it.</summary>
    public static RunFolderLock Acquire(string runDir)
    {
        string dir = Path.GetFullPath(runDir);
        OutputPath.RequireFolder(dir);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, FileName);
        var file = LockFile.Acquire(path, Path.Combine(dir, HolderFileName),
            holder => new RunFolderInUseException($"{dir} is in use by {holder} (it holds {path}); wait for it to finish or use another folder"));
        return new RunFolderLock(file, RemoveLeftovers(dir));
    }

    // A temporary folder goes whole, so the walk never enters it: its own temporary files (a kill during a checkpoint
    // write leaves checkpoint.tmp-<guid>/.model.safetensors.<guid>.tmp) are gone with it, not deleted a second time.
    static List<string> RemoveLeftovers(string dir)
    {
        var removed = new List<string>();
        RemoveLeftovers(new DirectoryInfo(dir), removed);
        return removed;
    }

    static void RemoveLeftovers(DirectoryInfo dir, List<string> removed)
    {
        foreach (var entry in dir.EnumerateFileSystemInfos().ToList())
        {
            if (entry is DirectoryInfo folder)
            {
                if (!AtomicFolder.IsTemporary(folder.Name))
                {
                    if (folder.LinkTarget is null) RemoveLeftovers(folder, removed); // a link leads outside the run
                    continue;
                }
                folder.Delete(recursive: true);
            }
            else if (AtomicFile.IsTemporary(entry.Name)) entry.Delete();
            else continue;
            removed.Add(entry.FullName);
        }
    }

    public void Dispose() => file.Dispose();
}
