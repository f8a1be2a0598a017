using PicSharp.Compression;
using PicSharp.Serving.Store;
using PicSharp.Tests;
using static TorchSharp.torch;

namespace PicSharp.Serving.Tests;

/// <summary>The SQLite store on its own: content keys, idempotent adds, whole rows back for both memory kinds.</summary>
public sealed class SqliteMemoryStoreTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-sqlite-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void A_memory_comes_back_bit_for_bit_and_is_stored_once(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 3);
        using var memory = compressor.Compress([Context]);
        var blob = MemoryBlob.Of(memory);
        string compressorId = CompressorFolder.Fingerprint(compressor);
        string id = MemoryKey.Of(compressorId, Context);
        Assert.Equal(id, MemoryKey.Of(compressorId, Context.ToList()));
        Assert.NotEqual(id, MemoryKey.Of(compressorId, Context[..^1]));
        Assert.NotEqual(id, MemoryKey.Of("another-compressor", Context));

        var record = new MemoryRecord(id, compressorId, "tiny", KebabName(kind), "pic", 4, 8, Context.Length, memory.Counts[0],
            memory.NextPositions[0], blob.Data.Length, DateTimeOffset.UtcNow);
        using (var store = new SqliteMemoryStore(Path.Combine(dir, "m.db")))
        {
            Assert.True(store.Add(new StoredMemory(record, Context, blob)));
            Assert.False(store.Add(new StoredMemory(record, Context, blob))); // same key: stored once
            Assert.Equal(1, store.Count());
            Assert.Equal("ok", store.IntegrityCheck());
        }
        using (var reopened = new SqliteMemoryStore(Path.Combine(dir, "m.db")))
        {
            var loaded = reopened.Load(id)!;
            Assert.Equal(record with { Created = loaded.Record.Created }, loaded.Record);
            Assert.Equal(Context, loaded.ContextIds);
            using var back = loaded.Tensors.ToMemory(kind, record.MemoryTokens, record.NextPosition, record.ContextTokens);
            if (kind == MemoryKind.Embeddings) Assert.Equal(0, TinyModels.MaxAbsDiff(memory.Embeddings!, back.Embeddings!));
            else
                foreach (var (a, b) in memory.KeyValues!.Zip(back.KeyValues!))
                    Assert.Equal(0, TinyModels.MaxAbsDiff(a.Keys, b.Keys) + TinyModels.MaxAbsDiff(a.Values, b.Values));
            Assert.True(reopened.Delete(id));
            Assert.Null(reopened.Find(id));
            Assert.False(reopened.Delete(id));
        }
    }

    [Fact]
    public void Tensor_bytes_that_do_not_fit_the_shape_are_refused()
    {
        var blob = new MemoryBlob("float32", [1, 2, 3], new byte[20]);
        var error = Assert.Throws<InvalidDataException>(() => blob.ToMemory(MemoryKind.Embeddings, 2, 2, 8));
        Assert.Contains("hold 20 bytes but shape [1, 2, 3] of float32 needs 24", error.Message);
    }

    static string KebabName(MemoryKind kind) => PicSharp.Storage.KebabCase.Name(kind);
}
