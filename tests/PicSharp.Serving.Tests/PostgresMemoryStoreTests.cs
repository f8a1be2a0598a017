using Npgsql;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>What only the PostgreSQL store does: a versioned schema migrated once however many replicas start
/// together, newer schemas refused, a database that is gone reported as unavailable (503, not a bug), and the
/// addresses users write (libpq URIs, Npgsql keywords) read as psql reads them.</summary>
[Collection(nameof(PostgresServer))]
public sealed class PostgresMemoryStoreTests(PostgresServer postgres)
{
    static int Scalar(string address, string sql)
    {
        using var connection = new NpgsqlConnection(address + ";Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt32(command.ExecuteScalar());
    }

    [Fact]
    public void Replicas_starting_together_migrate_the_schema_once_to_its_version()
    {
        string address = postgres.NewDatabase();
        using var start = new Barrier(4);
        var stores = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ =>
        {
            start.SignalAndWait();
            return MemoryStores.Open(address);
        }).ToList();
        stores.ForEach(s => s.Dispose());
        Assert.Equal(PostgresMemoryStore.SchemaVersion, Scalar(address, "SELECT max(version) FROM picsharp_schema"));
        Assert.Equal(PostgresMemoryStore.SchemaVersion, Scalar(address, "SELECT count(*) FROM picsharp_schema"));
        using var again = MemoryStores.Open(address); // a restart finds the schema current
        Assert.Equal(PostgresMemoryStore.SchemaVersion, Scalar(address, "SELECT count(*) FROM picsharp_schema"));
    }

    [Fact]
    public void A_database_migrated_by_a_newer_picsharp_is_refused_unwritten()
    {
        string address = postgres.NewDatabase();
        MemoryStores.Open(address).Dispose();
        int newer = PostgresMemoryStore.SchemaVersion + 1;
        PostgresServer.Execute(address, $"INSERT INTO picsharp_schema (version) VALUES ({newer})");
        var error = Assert.Throws<InvalidDataException>(() => MemoryStores.Open(address));
        Assert.Contains($"schema version {newer}, newer than this PicSharp's {PostgresMemoryStore.SchemaVersion}", error.Message);
    }

    [Fact]
    public void A_database_that_goes_away_is_unavailable_not_a_bug()
    {
        string address = postgres.NewDatabase();
        using var store = MemoryStores.Open(address);
        store.CheckReadWrite();
        string database = new NpgsqlConnectionStringBuilder(address).Database!;
        PostgresServer.Execute(postgres.Address("postgres"), $"DROP DATABASE {database} WITH (FORCE)"); // ends the pool's sessions too
        var ready = Assert.Throws<StoreUnavailableException>(store.CheckReadWrite);
        Assert.StartsWith($"memory store postgresql://postgres@127.0.0.1:{postgres.Port}/{database} is unavailable: ", ready.Message);
        Assert.Throws<StoreUnavailableException>(() => store.Find("0"));

        string nobody = $"Host=127.0.0.1;Port={RepoFolder.FreePort()};Username=postgres;Database=pic";
        Assert.Throws<StoreUnavailableException>(() => MemoryStores.Open(nobody));
    }

    [Fact]
    public void Addresses_read_as_psql_reads_them_and_never_show_the_password()
    {
        var uri = PostgresAddress.Parse("postgres://pic:s%40cret@db.example:6543/memories?sslmode=require&application_name=pic");
        Assert.Equal(("db.example", 6543, "pic", "s@cret", "memories", SslMode.Require, "pic"),
            (uri.Host, uri.Port, uri.Username, uri.Password, uri.Database, uri.SslMode, uri.ApplicationName));
        Assert.Equal("postgresql://pic@db.example:6543/memories", PostgresAddress.Describe(uri));
        var socket = PostgresAddress.Parse("postgresql:///memories?host=/run/postgresql");
        Assert.Equal(("/run/postgresql", "memories"), (socket.Host, socket.Database));
        var keywords = PostgresAddress.Parse("Host=127.0.0.1;Database=pic;Username=me;Password=x");
        Assert.Equal(("127.0.0.1", 5432, "pic", 5), (keywords.Host, keywords.Port, keywords.Database, keywords.Timeout));

        Assert.True(PostgresAddress.IsPostgres("Host=db;Database=pic"));
        Assert.False(PostgresAddress.IsPostgres("memories.db"));
        Assert.False(PostgresAddress.IsPostgres("host=notes.db")); // a file may be called that; a connection string has ';'
        Assert.Contains("not a PostgreSQL connection string", Assert.Throws<InvalidInputException>(() => PostgresAddress.Parse("Host=db;Colour=blue")).Message);
        Assert.Contains("names no host", Assert.Throws<InvalidInputException>(() => PostgresAddress.Parse("Database=pic;Username=me")).Message);
    }
}
