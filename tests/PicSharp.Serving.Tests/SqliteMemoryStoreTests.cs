using Microsoft.Data.Sqlite;
using PicSharp.Compression;
using PicSharp.Serving.Store;
using PicSharp.Tests;
using static TorchSharp.torch;

namespace PicSharp.Serving.Tests;

/// <summary>Content keys and rows as memory files, and what only the SQLite store does: its integrity check, older files
/// and paths that are not databases refused (what every store does: <see cref="MemoryStoreContract"/>).</summary>
public sealed class SqliteMemoryStoreTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-sqlite-").FullName;
    string StorePath => Path.Combine(dir, "m.db");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    static (StoredMemory Stored, string CompressorId) Stored(MemoryKind kind = MemoryKind.Embeddings)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 3);
        using var memory = compressor.Compress([Context]);
        var info = MemoryFileInfo.Of(compressor, "tiny");
        return (StoredMemory.Of(memory, info, Context, DateTimeOffset.UtcNow), info.CompressorId);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void A_memory_is_keyed_by_compressor_and_tokens_and_its_row_is_its_memory_file(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 3);
        using var memory = compressor.Compress([Context]);
        string compressorId = CompressorFolder.Fingerprint(compressor);
        string id = MemoryKey.Of(compressorId, Context);
        Assert.Equal(id, MemoryKey.Of(compressorId, Context.ToList()));
        Assert.NotEqual(id, MemoryKey.Of(compressorId, Context[..^1]));
        Assert.NotEqual(id, MemoryKey.Of("another-compressor", Context));

        var info = MemoryFileInfo.Of(compressor, "tiny");
        var stored = StoredMemory.Of(memory, info, Context, DateTimeOffset.UtcNow);
        var record = stored.Record;
        Assert.Equal(new MemoryRecord(id, compressorId, "tiny", kind, MaskPolicy.Pic, 4, 8, Context.Length, memory.Counts[0],
            memory.NextPositions[0], stored.File.Length, record.Created), record);
        Assert.Equal(MemoryFile.ToBytes(memory, info, Context), stored.File); // a row keeps exactly the memory file's bytes
        using (var store = new SqliteMemoryStore(StorePath))
        {
            Assert.True(store.Add(stored));
            Assert.Equal("ok", store.IntegrityCheck());
        }
        using var back = stored.Decode(compressorId, vocabularySize: 64);
        if (kind == MemoryKind.Embeddings) Assert.Equal(0, TinyModels.MaxAbsDiff(memory.Embeddings!, back.Memory.Embeddings!));
        else
            foreach (var (a, b) in memory.KeyValues!.Zip(back.Memory.KeyValues!))
                Assert.Equal(0, TinyModels.MaxAbsDiff(a.Keys, b.Keys) + TinyModels.MaxAbsDiff(a.Values, b.Values));
    }

    [Fact]
    public void Tensor_bytes_that_do_not_fit_the_shape_are_refused()
    {
        var (stored, compressorId) = Stored();
        var truncated = stored with { File = stored.File[..^4] };
        var error = Assert.Throws<InvalidDataException>(() => truncated.Decode(compressorId, null));
        Assert.Contains($"memory {stored.Record.Id}", error.Message);
        Assert.Contains("truncated file?", error.Message);
    }

    void Update(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    [Fact]
    public void A_row_whose_embeddings_were_zeroed_is_refused_naming_the_memory_and_reported_by_the_scan()
    {
        var (stored, compressorId) = Stored();
        string id = stored.Record.Id;
        using var store = new SqliteMemoryStore(StorePath);
        store.Add(stored);
        var (good, _) = Stored(MemoryKind.KeyValues);
        store.Add(good);
        // Zero the last 64 bytes of the file: the embeddings (context_ids sort first in the data region).
        Update($"UPDATE memory_files SET file = CAST(substr(file, 1, length(file) - 64) || zeroblob(64) AS BLOB) WHERE id = '{id}'");

        var error = Assert.Throws<InvalidDataException>(() => store.Load(id)!.Decode(compressorId, null));
        Assert.StartsWith($"memory {id}: checksum mismatch", error.Message);

        var problems = StoreScan.Run(store);
        Assert.Equal([id], problems.Select(p => p.Id));
        Assert.Contains("checksum mismatch", problems[0].Problem);
    }

    [Fact]
    public void A_store_of_an_older_version_is_refused_with_the_fix()
    {
        using (var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE memories (id TEXT PRIMARY KEY, tensors BLOB NOT NULL)";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<InvalidDataException>(() => new SqliteMemoryStore(StorePath));
        Assert.Contains(StorePath, error.Message);
        Assert.Contains("older version", error.Message);
    }

    [Fact]
    public void A_store_path_that_is_a_folder_or_not_a_database_is_refused_naming_it()
    {
        var folder = Assert.Throws<IOException>(() => new SqliteMemoryStore(dir));
        Assert.Equal($"memory store {dir} is a folder, not a SQLite file", folder.Message);
        File.WriteAllText(StorePath, "these are notes, not a database; " + new string('x', 200));
        var garbage = Assert.Throws<IOException>(() => new SqliteMemoryStore(StorePath));
        Assert.StartsWith($"memory store {StorePath}: ", garbage.Message);
        Assert.Contains("not a database", garbage.Message);
    }
}
