using PicSharp.Storage;

namespace PicSharp.Tests.Storage;

public sealed class OutputPathTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-output-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void A_regular_file_on_the_way_is_named_and_nothing_is_created()
    {
        string file = Path.Combine(root, "plain.txt");
        File.WriteAllText(file, "x");
        string target = Path.Combine(file, "deeper", "out.json");
        var e = Assert.Throws<IOException>(() => OutputPath.RequireFile(target));
        Assert.Equal($"cannot write {target}: {file} is a file, not a folder", e.Message);
        // Atomic writes give the same message instead of .NET's "file already exists".
        Assert.Equal(e.Message, Assert.Throws<IOException>(() => AtomicFile.WriteAllText(target, "{}")).Message);
        Assert.Contains($"{file} is a file", Assert.Throws<IOException>(() => AtomicFolder.Write(Path.Combine(file, "dir"), _ => { })).Message);
        Assert.Equal(["plain.txt"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
    }

    [Fact]
    public void A_folder_where_a_file_goes_and_a_file_where_a_folder_goes_are_refused()
    {
        Assert.Contains("it is a folder, not a file", Assert.Throws<IOException>(() => OutputPath.RequireFile(root)).Message);
        string file = Path.Combine(root, "plain.txt");
        File.WriteAllText(file, "x");
        Assert.Contains("it is a file, not a folder", Assert.Throws<IOException>(() => OutputPath.RequireFolder(file)).Message);
        OutputPath.RequireFile(Path.Combine(root, "new", "deeper", "out.json")); // missing folders are fine: they are created
        OutputPath.RequireFolder(Path.Combine(root, "new"));
        Assert.False(Directory.Exists(Path.Combine(root, "new")));
        Assert.Equal(["plain.txt"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName)); // the write probe is gone
    }
}
