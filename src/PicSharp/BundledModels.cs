namespace PicSharp;

/// <summary>
/// Where the bundled default model (picsharp-base) and its trained 16x compressor (picsharp-base-pic16) are: the folder
/// that holds both. Looked up in this order, first match wins:
/// 1. the folder named by the PICSHARP_MODELS environment variable (when set, it must hold them: no silent fallback);
/// 2. models/ beside the running program (the `pic` tool package and the PicSharp.Models package put them there);
/// 3. models/ in the current folder (a clone of the repository).
/// </summary>
public sealed record BundledModels(string Folder, string FoundBy)
{
    public const string EnvironmentVariable = "PICSHARP_MODELS";
    public const string ModelName = "picsharp-base";
    public const string CompressorName = "picsharp-base-pic16";
    const string FolderName = "models";

    /// <summary>The default model folder (config.json, model.safetensors, tokenizer.json).</summary>
    public string Model => Path.Combine(Folder, ModelName);
    /// <summary>The default model's trained compressor folder.</summary>
    public string Compressor => Path.Combine(Folder, CompressorName);

    /// <summary>Every folder the lookup tries, in order, with what led there.</summary>
    public static IReadOnlyList<BundledModels> Candidates()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } named)
            return [new(Path.GetFullPath(named), $"${EnvironmentVariable}")];
        return
        [
            new(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, FolderName)), "the program's folder"),
            new(Path.GetFullPath(FolderName), "the current folder"),
        ];
    }

    /// <summary>The first candidate that holds the default model, or null.</summary>
    public static BundledModels? Find() => Candidates().FirstOrDefault(c => File.Exists(Path.Combine(c.Model, "config.json")));

    /// <summary>The bundled models, or an exception that names every folder looked in and how to point at them.</summary>
    public static BundledModels Locate() => Find() ?? throw new DirectoryNotFoundException(
        $"the bundled model {ModelName} was not found in {string.Join(" or ", Candidates().Select(c => $"{c.Folder} ({c.FoundBy})"))}; " +
        $"set {EnvironmentVariable} to a folder holding {ModelName} and {CompressorName} (a clone's models/ folder), " +
        "or add the PicSharp.Models package to your project");

    /// <summary>True when <paramref name="modelDir"/> names the bundled default model, in whatever path form.</summary>
    public bool IsDefaultModel(string modelDir) => SamePath(modelDir, Model);

    /// <summary>Both paths name the same folder once made absolute (relative to the current folder) and normalised.</summary>
    public static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
