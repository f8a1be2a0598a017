namespace PicSharp.Storage;

/// <summary>
/// The one lock discipline for files and folders this code rewrites: a lock file held open with FileShare.None (an OS
/// lock: flock on Unix, a share mode on Windows) and a holder file naming the process, for the message a refused
/// process prints. The OS drops the lock when its process dies, so a killed holder is no obstacle. The lock file is
/// never deleted: a process that opened it just before a deletion would lock an orphaned file while a third process
/// locks a new one, and both would believe they hold the lock.
/// </summary>
static class LockFile
{
    /// <param name="inUse">the exception for a refused claim, given the holder ("process 123" or "another process").</param>
    public static FileStream Acquire(string path, string holderPath, Func<string, IOException> inUse)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path))
        {
            string holder = File.Exists(holderPath) && int.TryParse(File.ReadAllText(holderPath).Trim(), out int pid) ? $"process {pid}" : "another process";
            throw inUse(holder);
        }
        File.WriteAllText(holderPath, $"{Environment.ProcessId}\n");
        return file;
    }
}
