using PicSharp.Compression;
using PicSharp.Storage;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

public sealed class MemoryFileTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("picsharp-memory-").FullName;
    string MemoryPath => Path.Combine(dir, "context.memory.safetensors");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Short = [7, 8, 9, 10, 11, 12, 13];
    static readonly int[] Long = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Round_trip_keeps_tensors_and_provenance(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = CompressorFolderTests.Trained(kind);
        using var batch = compressor.Compress([Short, Long]); // row 0 is padded in the batch
        var info = MemoryFileInfo.Of(compressor, ModelFolder.Fingerprint(compressor.Model));
        MemoryFile.Save(MemoryPath, batch.Row(0), info);

        var (loaded, loadedInfo) = MemoryFile.Load(MemoryPath, CompressorFolder.Fingerprint(compressor));
        var expected = batch.Row(0);
        Assert.Equal(info, loadedInfo);
        Assert.Equal(MemoryFile.ReadInfo(MemoryPath), info);
        Assert.Equal(expected.Counts, loaded.Counts);
        Assert.Equal(expected.ContextLengths, loaded.ContextLengths);
        Assert.Equal(expected.NextPositions, loaded.NextPositions);
        Assert.Equal(Short.Length, loaded.ContextLengths[0]);
        if (kind == MemoryKind.Embeddings)
        {
            Assert.Equal(expected.Embeddings!.shape, loaded.Embeddings!.shape);
            Assert.Equal(0, TinyModels.MaxAbsDiff(expected.Embeddings, loaded.Embeddings));
        }
        else
        {
            Assert.Equal(compressor.Model.Config.NumHiddenLayers, loaded.KeyValues!.Count);
            foreach (var (x, y) in expected.KeyValues!.Zip(loaded.KeyValues))
            {
                Assert.Equal(x.Keys.shape, y.Keys.shape);
                Assert.Equal(0, TinyModels.MaxAbsDiff(x.Keys, y.Keys) + TinyModels.MaxAbsDiff(x.Values, y.Values));
            }
        }
    }

    [Fact]
    public void Memory_from_another_compressor_is_refused_naming_both_ids()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var maker = CompressorFolderTests.Trained();
        var other = CompressorFolderTests.Trained(targets: ["q_proj", "k_proj"]);
        using var memory = maker.Compress([Short]);
        MemoryFile.Save(MemoryPath, memory, MemoryFileInfo.Of(maker, "tiny"));

        string makerId = CompressorFolder.Fingerprint(maker), otherId = CompressorFolder.Fingerprint(other);
        var error = Assert.Throws<ForeignMemoryException>(() => MemoryFile.Load(MemoryPath, otherId));
        Assert.Contains(makerId, error.Message);
        Assert.Contains(otherId, error.Message);
        Assert.Contains(MemoryPath, error.Message);
    }

    public static TheoryData<string, string> CorruptMetadata => new()
    {
        { "format", "not a PicSharp memory file" },
        { "memory_count", "metadata field 'memory_count' = 'many' is not an integer" },
        { "kind", "metadata field 'kind' = 'hidden' is not embeddings or key-values" },
        { "policy", "unknown mask policy 'diagonal'" },
        { "compressor_id", "metadata field 'compressor_id' is missing" },
        { "count-mismatch", "tensor 'embeddings' has shape [1, 2, 32], expected 3 dimensions with batch 1 and 3 memory tokens" },
        { "kind-mismatch", "do not match a key-values memory" },
    };

    [Theory]
    [MemberData(nameof(CorruptMetadata))]
    public void Corrupt_metadata_is_a_clear_error(string field, string expected)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = CompressorFolderTests.Trained();
        using var memory = compressor.Compress([Short]);
        MemoryFile.Save(MemoryPath, memory, MemoryFileInfo.Of(compressor, "tiny"));
        var tensors = SafeTensorsFile.Load(MemoryPath);
        var metadata = SafeTensorsFile.ReadMetadata(MemoryPath).ToDictionary();
        switch (field)
        {
            case "format": metadata["format"] = "something-else"; break;
            case "memory_count": metadata["memory_count"] = "many"; break;
            case "kind": metadata["kind"] = "hidden"; break;
            case "policy": metadata["policy"] = "diagonal"; break;
            case "compressor_id": metadata.Remove("compressor_id"); break;
            case "count-mismatch": metadata["memory_count"] = "3"; break;
            case "kind-mismatch": metadata["kind"] = "key-values"; metadata["layers"] = "2"; break;
        }
        SafeTensorsFile.Save(MemoryPath, tensors, metadata);
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(MemoryPath, CompressorFolder.Fingerprint(compressor)));
        Assert.Contains(MemoryPath, error.Message);
        Assert.Contains(expected, error.Message);
    }
}
