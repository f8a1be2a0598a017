namespace PicSharp.Storage;

/// <summary>
/// Checks that a file or folder can be written at a path, with a message that names the obstacle: a folder where a
/// file should go (or the reverse), a regular file where a parent folder should be, no permission. Commands call it on
/// their outputs before long work (an hour of evaluation must not end in "cannot write"); atomic writes call it too.
/// </summary>
public static class OutputPath
{
    public static void RequireFile(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"cannot write {full}: it is a folder, not a file");
        RequireParent(full);
    }

    public static void RequireFolder(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new IOException($"cannot write {full}: it is a file, not a folder");
        if (Directory.Exists(full)) RequireWritable(full, full);
        else RequireParent(full);
    }

    /// <summary>
    /// Refuses an output that would overwrite one of the command's input files or a file of a folder the command loads
    /// (the model's weights, the compressor's adapter), comparing full paths with symbolic links resolved, before any
    /// work is done.
    /// </summary>
    /// <param name="option">how the user named the output ("--out").</param>
    /// <param name="inputs">input files by option name ("--input").</param>
    /// <param name="loadedFolders">loaded folders by what they are ("model").</param>
    public static void RequireNotInput(string output, string option, IEnumerable<(string Option, string Path)> inputs,
        IEnumerable<(string What, string Folder)> loadedFolders)
    {
        string target = Resolved(output);
        foreach (var (inputOption, input) in inputs)
            if (Resolved(input) == target)
                throw new IOException($"{option} {Path.GetFullPath(output)} is the {inputOption} file; choose another output");
        foreach (var (what, folder) in loadedFolders)
            if (Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Any(file => Resolved(file) == target))
                throw new IOException($"{option} {Path.GetFullPath(output)} is a file of the loaded {what} ({Path.GetFullPath(folder)}); choose another output");
    }

    // The full path, with links resolved where the file or folder exists (two names of one file are one output).
    static string Resolved(string path)
    {
        string full = Path.GetFullPath(path);
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return info.Exists ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full : full;
    }

    /// <summary>The nearest existing ancestor must be a folder this process can write in (the rest is created).</summary>
    static void RequireParent(string full)
    {
        for (string? dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir))
            {
                RequireWritable(dir, full);
                return;
            }
            if (File.Exists(dir)) throw new IOException($"cannot write {full}: {dir} is a file, not a folder");
        }
    }

    static void RequireWritable(string dir, string target)
    {
        string probe = Path.Combine(dir, $".write-check.{Guid.NewGuid():N}.tmp");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot write {target}: {dir} is not writable ({e.Message})");
        }
    }
}
