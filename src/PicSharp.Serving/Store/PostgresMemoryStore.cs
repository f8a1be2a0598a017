using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace PicSharp.Serving.Store;

/// <summary>
/// The shared store: memories in a PostgreSQL database, so several `pic serve` replicas and `pic worker`s on any
/// machine see one set of memories. Same rows as the SQLite store (<see cref="MemoryColumns"/>); every write is one
/// statement, so one transaction, committed with PostgreSQL's default synchronous_commit (acknowledged means flushed
/// to the write-ahead log); concurrent creates of one text are one row (ON CONFLICT on the content-addressed id).
/// The schema is created or migrated on start under an advisory lock (replicas starting together migrate once) and its
/// version kept in picsharp_schema; a database migrated by a newer PicSharp is refused, not written.
/// </summary>
public sealed class PostgresMemoryStore : IMemoryStore
{
    // Each entry moves the schema one version up; a released entry never changes, a new one is appended.
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE memory_files (
            id text PRIMARY KEY, compressor_id text NOT NULL, base_model_id text NOT NULL, kind text NOT NULL,
            policy text NOT NULL, ratio integer NOT NULL, chunk_length integer NOT NULL, context_tokens integer NOT NULL,
            memory_tokens integer NOT NULL, next_position bigint NOT NULL, bytes bigint NOT NULL, created timestamptz NOT NULL,
            file bytea NOT NULL);
        CREATE INDEX memory_files_created ON memory_files (created DESC, id);
        """,
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    // Any constant both replicas agree on: it names "PicSharp's schema migration" among the database's advisory locks.
    const long MigrationLock = 0x5069_6353_6861_7270;

    readonly NpgsqlDataSource source;

    public string Location { get; }

    /// <param name="connectionString">Npgsql's form (Host=...;Database=...) or a postgres:// URI (<see cref="PostgresAddress"/>).</param>
    public PostgresMemoryStore(string connectionString)
    {
        var builder = PostgresAddress.Parse(connectionString);
        Location = PostgresAddress.Describe(builder);
        source = NpgsqlDataSource.Create(builder);
        try { Migrate(); }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    void Migrate() => Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, $"SELECT pg_advisory_xact_lock({MigrationLock})");
        Execute(connection, "CREATE TABLE IF NOT EXISTS picsharp_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())");
        using var current = connection.CreateCommand();
        current.CommandText = "SELECT COALESCE(MAX(version), 0) FROM picsharp_schema";
        int version = Convert.ToInt32(current.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > Migrations.Length)
            throw new InvalidDataException($"memory store {Location} has schema version {version}, newer than this PicSharp's {Migrations.Length}: " +
                "upgrade PicSharp to use it");
        for (int next = version + 1; next <= Migrations.Length; next++)
        {
            Execute(connection, Migrations[next - 1]);
            Execute(connection, $"INSERT INTO picsharp_schema (version) VALUES ({next})");
        }
        transaction.Commit();
        return 0;
    });

    static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // Every operation opens a pooled connection, so a database that restarted is reconnected on the next call; a
    // connection that cannot be made or was lost is the store being unavailable, not a bug.
    T Run<T>(Func<NpgsqlConnection, T> work)
    {
        try
        {
            using var connection = source.OpenConnection();
            return work(connection);
        }
        catch (NpgsqlException e) when (IsUnavailable(e))
        {
            // The pool's idle connections died with the server: dropped, so the first request after it is back works.
            source.Clear();
            throw new StoreUnavailableException($"memory store {Location} is unavailable: {e.Message}", e);
        }
    }

    // Connection errors, authentication, a missing database, too many connections, shutting down or starting up:
    // the database cannot serve now. Anything else (a constraint or a syntax error) is a bug and stays one.
    static bool IsUnavailable(NpgsqlException e) => e is not PostgresException postgres
        || postgres.SqlState[..2] is "08" or "28" or "3D" or "53" or "57";

    T Query<T>(string sql, Func<DbDataReader, T> read, params (string Name, object Value)[] parameters) => Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) MemoryColumns.Parameter(command, name, value);
        using var reader = command.ExecuteReader();
        return read(reader);
    });

    public bool Add(StoredMemory memory) => Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Insert;
        MemoryColumns.Bind(command, memory, created => created.ToUniversalTime());
        return command.ExecuteNonQuery() == 1;
    });

    public MemoryRecord? Find(string id) => Query(MemoryColumns.Find, r => r.Read() ? MemoryColumns.Read(r) : null, ("id", id));

    public StoredMemory? Load(string id) => Query(MemoryColumns.Load, r => r.Read() ? MemoryColumns.ReadWhole(r) : null, ("id", id));

    public bool Delete(string id) => Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Delete;
        MemoryColumns.Parameter(command, "id", id);
        return command.ExecuteNonQuery() == 1;
    });

    public IReadOnlyList<MemoryRecord> List(int offset, int limit) => Query(MemoryColumns.List, r =>
    {
        var records = new List<MemoryRecord>();
        while (r.Read()) records.Add(MemoryColumns.Read(r));
        return records;
    }, ("limit", limit), ("offset", offset));

    public int Count() => Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Count;
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    });

    // A read, and a write rolled back: a standby or a database in read-only mode refuses the write.
    public void CheckReadWrite() => Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, "SELECT count(*) FROM memory_files; UPDATE picsharp_schema SET applied = applied WHERE version = 1");
        transaction.Rollback();
        return 0;
    });

    public void Dispose() => source.Dispose();
}
