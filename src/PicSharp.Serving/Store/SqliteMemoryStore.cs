using System.Globalization;
using Microsoft.Data.Sqlite;

namespace PicSharp.Serving.Store;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode, one row per memory (<see cref="MemoryColumns"/>): metadata
/// columns and the memory file's bytes as a BLOB, checksum included (<see cref="StoredMemory"/>). Each write is one
/// transaction with synchronous=FULL, so an acknowledged memory survives `kill -9` and power loss, and an interrupted
/// one rolls back to absent.
/// </summary>
public sealed class SqliteMemoryStore : IMemoryStore
{
    readonly string connectionString;

    public string Path { get; }
    public string Location => Path;

    public SqliteMemoryStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(Path)) throw new IOException($"memory store {Path} is a folder, not a SQLite file");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        try { CreateTables(); }
        catch (SqliteException e) { throw new IOException($"memory store {Path}: {e.Message}", e); }
    }

    void CreateTables()
    {
        using var connection = Open();
        // The first format kept bare tensors without a checksum: its rows cannot be verified, so the store is refused
        // rather than its memories silently ignored.
        using (var old = connection.CreateCommand())
        {
            old.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'memories'";
            if (Convert.ToInt32(old.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                throw new InvalidDataException($"memory store {Path} was written by an older version of PicSharp (memories without checksums, " +
                    "which cannot be verified); move it aside or delete it and create the memories again");
        }
        Execute(connection, "PRAGMA journal_mode=WAL;");
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS memory_files (
                id TEXT PRIMARY KEY, compressor_id TEXT NOT NULL, base_model_id TEXT NOT NULL, kind TEXT NOT NULL,
                policy TEXT NOT NULL, ratio INTEGER NOT NULL, chunk_length INTEGER NOT NULL, context_tokens INTEGER NOT NULL,
                memory_tokens INTEGER NOT NULL, next_position INTEGER NOT NULL, bytes INTEGER NOT NULL, created TEXT NOT NULL,
                file BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS memory_files_created ON memory_files (created);
            """);
    }

    SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new IOException($"memory store {Path}: {e.Message}", e);
        }
    }

    static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public bool Add(StoredMemory memory)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Insert;
        MemoryColumns.Bind(command, memory, created => created.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        return command.ExecuteNonQuery() == 1;
    }

    public MemoryRecord? Find(string id)
    {
        using var reader = Query(MemoryColumns.Find, ("id", id));
        return reader.Read() ? MemoryColumns.Read(reader) : null;
    }

    public StoredMemory? Load(string id)
    {
        using var reader = Query(MemoryColumns.Load, ("id", id));
        return reader.Read() ? MemoryColumns.ReadWhole(reader) : null;
    }

    // The reader owns its connection: disposing it closes both.
    SqliteDataReader Query(string sql, params (string Name, object Value)[] parameters)
    {
        var connection = Open();
        try
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters) MemoryColumns.Parameter(command, name, value);
            return command.ExecuteReader(System.Data.CommandBehavior.CloseConnection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void CheckReadWrite()
    {
        // A deleted file would still work through open connections and be gone on restart.
        if (!File.Exists(Path)) throw new IOException($"memory store {Path} no longer exists");
        using var connection = Open();
        try
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT count(*) FROM memory_files; PRAGMA user_version = 0;"; // a read, and a write rolled back
            command.ExecuteNonQuery();
            transaction.Rollback();
        }
        catch (SqliteException e) { throw new IOException($"memory store {Path}: {e.Message}", e); }
    }

    public bool Delete(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Delete;
        MemoryColumns.Parameter(command, "id", id);
        return command.ExecuteNonQuery() == 1;
    }

    public IReadOnlyList<MemoryRecord> List(int offset, int limit)
    {
        using var reader = Query(MemoryColumns.List, ("limit", limit), ("offset", offset));
        var records = new List<MemoryRecord>();
        while (reader.Read()) records.Add(MemoryColumns.Read(reader));
        return records;
    }

    public int Count()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = MemoryColumns.Count;
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>SQLite's own check of the whole file: "ok", or the problems it found.</summary>
    public string IntegrityCheck()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read()) lines.Add(reader.GetString(0));
        return string.Join("\n", lines);
    }

    // Pooled connections keep the file open; clearing the pool lets the file be deleted or copied after disposal.
    public void Dispose() => SqliteConnection.ClearPool(new SqliteConnection(connectionString));
}
