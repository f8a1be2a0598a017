using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>The store contract on PostgreSQL (a real server, <see cref="PostgresServer"/>), one database per test.</summary>
[Collection(nameof(PostgresServer))]
public sealed class PostgresStoreContractTests(PostgresServer postgres) : MemoryStoreContract
{
    readonly string address = postgres.NewDatabase();

    protected override IMemoryStore Open() => MemoryStores.Open(address);

    protected override int Execute(string sql) => PostgresServer.Execute(address, sql);
}
