using Microsoft.Data.Sqlite;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>The store contract on the embedded SQLite store, one file per test.</summary>
public sealed class SqliteStoreContractTests : MemoryStoreContract, IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-sqlite-").FullName;
    string StorePath => Path.Combine(dir, "m.db");

    protected override IMemoryStore Open() => MemoryStores.Open(StorePath);

    protected override int Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }
}
