using PicSharp.Gguf;

namespace PicSharp.LlamaCpp;

/// <summary>
/// The GGUF that llama.cpp runs for a model folder: exported on first use beside the folder (DIR.f32.gguf next to DIR,
/// so the folder itself stays exactly what was trained), reused while its <see cref="GgufExport.SourceKey"/> names the
/// folder's current content, exported again when the folder changed. Written temp-then-rename, so a crash or a
/// concurrent export never leaves a half file where llama.cpp would read it.
/// </summary>
public static class GgufCache
{
    /// <summary>Where the export of <paramref name="modelDir"/> in <paramref name="type"/> is cached.</summary>
    public static string PathFor(string modelDir, GgmlType type)
    {
        string folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir));
        return Path.Combine(Path.GetDirectoryName(folder)!, $"{Path.GetFileName(folder)}.{GgufExport.WeightTypeName(type)}.gguf");
    }

    /// <summary>The cached export of <paramref name="modelDir"/>, written first when it is missing or stale;
    /// <paramref name="onExport"/> hears about an export before it starts (it reads every weight once).</summary>
    public static string Ensure(string modelDir, GgmlType type, Action<string>? onExport = null)
    {
        string path = PathFor(modelDir, type);
        string source = GgufExport.SourceFingerprint(modelDir);
        if (File.Exists(path) && CachedSource(path) == source) return path;
        onExport?.Invoke(path);
        try { GgufExport.Export(modelDir, path, type); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException and not FileNotFoundException)
        {
            // A model folder in a read-only place (a tool's install folder) cannot have its export beside it.
            throw new IOException($"cannot write the llama.cpp export of {modelDir} to {path} ({e.Message}); write it elsewhere with " +
                $"`pic export gguf --model {modelDir} --out F.gguf --type {GgufExport.WeightTypeName(type)}` and pass --gguf F.gguf", e);
        }
        return path;
    }

    /// <summary>
    /// Fails with one line unless <paramref name="gguf"/> is PicSharp's export of <paramref name="modelDir"/> as it is
    /// now: a file from another tool, another model or older weights would answer with other weights than the
    /// TorchSharp model the memories were made with.
    /// </summary>
    public static void RequireExportOf(string gguf, string modelDir)
    {
        string? source = SourceOf(gguf);
        if (source is null)
            throw new InvalidInputException($"{gguf} was not written by `pic export gguf` (no {GgufExport.SourceKey} key), so nothing says it holds " +
                $"the weights of {modelDir}; export it with `pic export gguf --model {modelDir}` or leave --gguf out");
        string expected = GgufExport.SourceFingerprint(modelDir);
        if (source != expected)
            throw new InvalidInputException($"{gguf} was exported from other weights ({GgufExport.SourceKey} {source}) than {modelDir} holds now " +
                $"({expected}); export it again or leave --gguf out");
    }

    // The source id in a file's metadata, or null when it has none; a file that is no GGUF fails here.
    static string? SourceOf(string path) =>
        GgufFile.Read(path).Find(GgufExport.SourceKey) is { Type: GgufValueType.String } value ? (string)value.Value : null;

    // A damaged cache file is no cache: it is exported again.
    static string? CachedSource(string path)
    {
        try { return SourceOf(path); }
        catch (GgufFormatException) { return null; }
    }
}
