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

    // --- integrity: a memory that changed after it was written, or never was a memory, is refused naming the file ---

    string SavedMemory(out string compressorId, IReadOnlyList<int>? contextIds = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = CompressorFolderTests.Trained();
        using var memory = compressor.Compress([Short]);
        MemoryFile.Save(MemoryPath, memory, MemoryFileInfo.Of(compressor, "tiny"), contextIds ?? Short);
        compressorId = CompressorFolder.Fingerprint(compressor);
        return MemoryPath;
    }

    [Fact]
    public void One_flipped_bit_in_the_embeddings_is_refused_naming_the_file()
    {
        string path = SavedMemory(out string id);
        var bytes = File.ReadAllBytes(path);
        bytes[^9] ^= 0x10; // inside the embeddings (the data region ends with them: context_ids sorts first)
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(path, id));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains("checksum", error.Message);
    }

    /// <summary>The saved memory with its metadata changed and the tensors kept (the checksum field is copied as it was).</summary>
    string EditedMemory(out string id, Action<Dictionary<string, string>> edit)
    {
        string path = SavedMemory(out id);
        var tensors = SafeTensorsFile.Load(path);
        var metadata = SafeTensorsFile.ReadMetadata(path).ToDictionary();
        edit(metadata);
        SafeTensorsFile.Save(path, tensors, metadata);
        return path;
    }

    [Fact]
    public void Edited_metadata_is_refused_as_a_checksum_mismatch()
    {
        string path = EditedMemory(out string id, metadata => metadata["base_model_id"] = "someone-else");
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(path, id));
        Assert.Contains(path, error.Message);
        Assert.Contains("checksum", error.Message);
    }

    [Fact]
    public void A_file_without_a_checksum_from_an_older_version_is_refused_with_the_fix()
    {
        string path = EditedMemory(out string id, metadata =>
        {
            metadata["version"] = "1";
            metadata.Remove("sha256");
        });
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(path, id));
        Assert.Contains(path, error.Message);
        Assert.Contains("older version", error.Message);
        Assert.Contains("pic compress", error.Message);
    }

    [Fact]
    public void NaN_embeddings_blame_the_memory_not_the_model()
    {
        using var scope = NewDisposeScope();
        var info = new MemoryFileInfo("compressor", "tiny", MemoryKind.Embeddings, MaskPolicy.Pic, 4, 8);
        var embeddings = ones(1, 2, 4);
        embeddings[0, 1, 2] = tensor(float.NaN);
        using var memory = new CompressedMemory(MemoryKind.Embeddings, embeddings, null, [2], [2], [8]);
        MemoryFile.Save(MemoryPath, memory, info);
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(MemoryPath, "compressor"));
        Assert.Contains(MemoryPath, error.Message);
        Assert.Contains("NaN or infinite", error.Message);
        Assert.Contains("memory", error.Message);
    }

    [Fact]
    public void Context_ids_outside_the_vocabulary_are_refused_with_the_numbers()
    {
        string path = SavedMemory(out string id, [7, 8, 9, 10, 11, 5000, 13]);
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(path, id, vocabularySize: 320));
        Assert.Contains(path, error.Message);
        Assert.Contains("token id 5000 at position 5 is outside the vocabulary of 320", error.Message);
        using (MemoryFile.Load(path, id)) { } // without a vocabulary to check against, the file itself is sound
    }

    [Fact]
    public void A_text_file_is_not_a_memory_file()
    {
        File.WriteAllText(MemoryPath, "The lighthouse keeper painted the tower red. " + new string('x', 200));
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(MemoryPath, "compressor"));
        Assert.StartsWith($"{MemoryPath} is not a memory file", error.Message);
    }

    [Fact]
    public void The_bytes_of_a_memory_load_like_its_file()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = CompressorFolderTests.Trained(MemoryKind.KeyValues);
        using var memory = compressor.Compress([Short]);
        var info = MemoryFileInfo.Of(compressor, "tiny");
        MemoryFile.Save(MemoryPath, memory, info, Short);
        byte[] bytes = MemoryFile.ToBytes(memory, info, Short);
        Assert.Equal(File.ReadAllBytes(MemoryPath), bytes);
        using var loaded = MemoryFile.Load(bytes, "memory abc", CompressorFolder.Fingerprint(compressor));
        Assert.Equal(Short, loaded.ContextIds);
        Assert.Equal(info, loaded.Info);
        bytes[^3] ^= 1;
        var error = Assert.Throws<InvalidDataException>(() => MemoryFile.Load(bytes, "memory abc", CompressorFolder.Fingerprint(compressor)));
        Assert.StartsWith("memory abc: ", error.Message);
    }
}
