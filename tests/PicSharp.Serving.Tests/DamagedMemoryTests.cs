using Microsoft.Data.Sqlite;

namespace PicSharp.Serving.Tests;

/// <summary>A store row changed after it was written fails the request that asked for it, naming the memory.</summary>
[Collection(nameof(TinyService))]
public sealed class DamagedMemoryTests(TinyService tiny)
{
    [Fact]
    public async Task A_row_with_zeroed_embeddings_fails_ask_and_append_naming_the_memory()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        string id = (await server.Service.CreateAsync(TinyService.Passage)).Record.Id;
        using (var connection = new SqliteConnection($"Data Source={server.Store.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE memory_files SET file = CAST(substr(file, 1, length(file) - 32) || zeroblob(32) AS BLOB) WHERE id = '{id}'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        var ask = Assert.Throws<InvalidDataException>(() => { _ = server.Service.AskAsync(id, "Who kept the lighthouse?", 4); });
        Assert.StartsWith($"memory {id}: checksum mismatch", ask.Message);
        var append = Assert.Throws<InvalidDataException>(() => { _ = server.Service.AppendAsync(id, " More text."); });
        Assert.StartsWith($"memory {id}: checksum mismatch", append.Message);
    }

    [Fact]
    public async Task A_row_whose_context_ids_are_outside_the_vocabulary_is_the_memory_s_fault_not_the_client_s()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var ids = server.Engine.Tokenize(TinyService.Passage).ToArray();
        using (var compressed = server.Engine.Compress(ids))
        {
            ids[0] = 5000;
            server.Store.Add(PicSharp.Serving.Store.StoredMemory.Of(compressed, server.Engine.MemoryInfo, ids, DateTimeOffset.UtcNow));
        }
        string id = PicSharp.Serving.Store.MemoryKey.Of(server.Engine.CompressorId, ids);
        var error = Assert.Throws<InvalidDataException>(() => { _ = server.Service.AskAsync(id, "Who kept the lighthouse?", 4); });
        Assert.StartsWith($"memory {id}: context token id 5000 at position 0 is outside the vocabulary", error.Message);
        Assert.Throws<InvalidDataException>(() => { _ = server.Service.AskFullContextAsync(id, "Who?", 4); });
    }
}
