using PicSharp.Compression;
using PicSharp.Serving.Store;
using PicSharp.Tests;
using static TorchSharp.torch;

namespace PicSharp.Serving.Tests;

/// <summary>
/// What every <see cref="IMemoryStore"/> promises, run against each store (<see cref="SqliteStoreContractTests"/>,
/// <see cref="PostgresStoreContractTests"/>): whole memories back bit for bit, one row per content-addressed id however
/// many callers add it at once, lists and counts that agree with deletes, damaged rows refused naming the memory.
/// </summary>
public abstract class MemoryStoreContract
{
    /// <summary>A new handle on this test's store (the same data every call).</summary>
    protected abstract IMemoryStore Open();
    /// <summary>Runs SQL against the store behind its back (to damage a row); the rows it changed.</summary>
    protected abstract int Execute(string sql);

    protected static readonly int[] Context = [5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 4, 8, 12, 16, 20];

    /// <summary>The memory of the first <paramref name="tokens"/> of <see cref="Context"/> (all by default).</summary>
    protected static (StoredMemory Stored, string CompressorId) Stored(MemoryKind kind = MemoryKind.Embeddings, int? tokens = null, DateTimeOffset? created = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = TinyModels.Create(TinyModels.Config());
        using var compressor = new Compressor(model, new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 3);
        int[] context = Context[..(tokens ?? Context.Length)];
        using var memory = compressor.Compress([context]);
        var info = MemoryFileInfo.Of(compressor, "tiny");
        return (StoredMemory.Of(memory, info, context, created ?? DateTimeOffset.UtcNow), info.CompressorId);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void A_memory_comes_back_bit_for_bit_and_is_stored_once(MemoryKind kind)
    {
        var (stored, compressorId) = Stored(kind);
        string id = stored.Record.Id;
        Assert.Equal(MemoryKey.Of(compressorId, Context), id);
        using (var store = Open())
        {
            Assert.True(store.Add(stored));
            Assert.False(store.Add(stored)); // same key: stored once
            Assert.Equal(1, store.Count());
        }
        using (var reopened = Open())
        {
            var loaded = reopened.Load(id)!;
            Assert.Equal(stored.File, loaded.File);
            Assert.Equal(stored.Record with { Created = loaded.Record.Created }, loaded.Record);
            Assert.True((loaded.Record.Created - stored.Record.Created).Duration() < TimeSpan.FromMilliseconds(1), $"created {stored.Record.Created:O} came back as {loaded.Record.Created:O}");
            Assert.Equal(loaded.Record, reopened.Find(id));
            using var back = loaded.Decode(compressorId, vocabularySize: 64);
            Assert.Equal(Context, back.ContextIds);
            Assert.True(reopened.Delete(id));
            Assert.Null(reopened.Find(id));
            Assert.Null(reopened.Load(id));
            Assert.False(reopened.Delete(id));
            Assert.Equal(0, reopened.Count());
        }
    }

    [Fact]
    public void Concurrent_adds_of_one_memory_through_separate_handles_keep_one_row_and_one_winner()
    {
        var (stored, _) = Stored();
        var stores = Enumerable.Range(0, 6).Select(_ => Open()).ToList();
        try
        {
            using var start = new Barrier(stores.Count);
            var added = stores.AsParallel().WithDegreeOfParallelism(stores.Count).Select(store =>
            {
                start.SignalAndWait();
                return store.Add(stored);
            }).ToList();
            Assert.Single(added, a => a);
            Assert.All(stores, s => Assert.Equal(1, s.Count()));
            Assert.Equal(stored.File, stores[^1].Load(stored.Record.Id)!.File);
        }
        finally { stores.ForEach(s => s.Dispose()); }
    }

    [Fact]
    public void Lists_are_newest_first_page_without_gaps_and_agree_with_deletes()
    {
        using var store = Open();
        var start = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 5).Select(i =>
        {
            var (stored, _) = Stored(tokens: Context.Length - i, created: start.AddSeconds(i));
            Assert.True(store.Add(stored));
            return stored.Record.Id;
        }).ToList();
        var newestFirst = Enumerable.Reverse(ids).ToList();
        Assert.Equal(newestFirst, store.List(0, 2).Concat(store.List(2, 2)).Concat(store.List(4, 2)).Select(r => r.Id));
        Assert.Empty(store.List(5, 10));
        Assert.Equal(5, store.Count());

        Assert.True(store.Delete(ids[2]));
        Assert.Equal(newestFirst.Where(id => id != ids[2]), store.List(0, 10).Select(r => r.Id));
        Assert.Equal(4, store.Count());
    }

    [Fact]
    public void A_row_whose_columns_disagree_with_its_file_is_refused_naming_the_memory_and_reported_by_the_scan()
    {
        var (stored, compressorId) = Stored();
        var (other, _) = Stored(tokens: 12);
        using var store = Open();
        store.Add(stored);
        store.Add(other);
        Assert.Equal(1, Execute($"UPDATE memory_files SET memory_tokens = 1 WHERE id = '{stored.Record.Id}'"));
        var error = Assert.Throws<InvalidDataException>(() => store.Load(stored.Record.Id)!.Decode(compressorId, null));
        Assert.Contains($"memory {stored.Record.Id}", error.Message);
        Assert.Contains("memory_tokens", error.Message);
        Assert.Equal([stored.Record.Id], StoreScan.Run(store).Select(p => p.Id));
    }

    [Fact]
    public void A_row_of_an_unknown_kind_is_refused_naming_the_memory()
    {
        var (stored, _) = Stored();
        using var store = Open();
        store.Add(stored);
        Assert.Equal(1, Execute($"UPDATE memory_files SET kind = 'holograms' WHERE id = '{stored.Record.Id}'"));
        var error = Assert.Throws<InvalidDataException>(() => store.Find(stored.Record.Id));
        Assert.Equal($"memory {stored.Record.Id}: the row's kind 'holograms' is not embeddings or key-values", error.Message);
    }

    [Fact]
    public void A_working_store_passes_the_readiness_check()
    {
        using var store = Open();
        store.CheckReadWrite();
        Assert.False(string.IsNullOrWhiteSpace(store.Location));
    }
}
