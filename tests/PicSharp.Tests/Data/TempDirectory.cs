namespace PicSharp.Tests.Data;

/// <summary>A fresh folder under the system temp folder, deleted when the test ends.</summary>
sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("picsharp-data-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
