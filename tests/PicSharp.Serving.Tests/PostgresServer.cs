using Npgsql;

namespace PicSharp.Serving.Tests;

/// <summary>
/// A real PostgreSQL for the tests, started by scripts/postgres-local.sh in a temporary folder on a free loopback port,
/// and stopped and deleted after: one for the store tests' collection, and one of its own for a test that runs
/// processes against it or restarts it. Each test takes a database of its own (<see cref="NewDatabase"/>), so tests
/// sharing a server run in parallel without seeing each other's rows.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pic-pg-").FullName;
    int databases;

    public int Port { get; } = RepoFolder.FreePort();

    public PostgresServer()
    {
        try { Start(); }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) on the same port and data.</summary>
    public void Start() => RepoFolder.RunScript("postgres-local.sh", "start", dir, Port.ToString());

    /// <summary>A shell command that restarts this server (for the restart drill).</summary>
    public string RestartCommand
    {
        get
        {
            string script = Path.Combine(RepoFolder.Root, "scripts", "postgres-local.sh");
            return $"'{script}' stop '{dir}' && '{script}' start '{dir}' {Port}";
        }
    }

    /// <summary>Fast shutdown: open sessions are ended, as when a database restarts under its clients.</summary>
    public void Stop() => RepoFolder.RunScript("postgres-local.sh", "stop", dir);

    public string Address(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database}";

    /// <summary>A new empty database; its connection string.</summary>
    public string NewDatabase()
    {
        string name = $"pic_test_{Interlocked.Increment(ref databases)}";
        using var connection = new NpgsqlConnection(Address("postgres"));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE {name}";
        command.ExecuteNonQuery();
        return Address(name);
    }

    /// <summary>Runs one statement in the database of <paramref name="address"/>; the rows it changed.</summary>
    public static int Execute(string address, string sql)
    {
        using var connection = new NpgsqlConnection(address + ";Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try { Stop(); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

[CollectionDefinition(nameof(PostgresServer))]
public sealed class PostgresServerCollection : ICollectionFixture<PostgresServer>;
