using System.Globalization;
using Microsoft.Data.Sqlite;
using PicSharp.Compression;
using PicSharp.Storage;

namespace PicSharp.Serving.Store;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode, one row per memory: metadata columns (kind and policy by
/// their names) and the memory file's bytes as a BLOB, checksum included (<see cref="StoredMemory"/>). Each write is one
/// transaction with synchronous=FULL, so an acknowledged memory survives `kill -9` and power loss, and an interrupted
/// one rolls back to absent.
/// </summary>
public sealed class SqliteMemoryStore : IMemoryStore
{
    const string Columns = "id, compressor_id, base_model_id, kind, policy, ratio, chunk_length, context_tokens, memory_tokens, next_position, bytes, created";
    readonly string connectionString;

    public string Path { get; }

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
        var r = memory.Record;
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            INSERT OR IGNORE INTO memory_files ({Columns}, file)
            VALUES ($id, $compressor, $base, $kind, $policy, $ratio, $chunk, $context, $memory, $next, $bytes, $created, $file)
            """;
        command.Parameters.AddWithValue("$id", r.Id);
        command.Parameters.AddWithValue("$compressor", r.CompressorId);
        command.Parameters.AddWithValue("$base", r.BaseModelId);
        command.Parameters.AddWithValue("$kind", KebabCase.Name(r.Kind));
        command.Parameters.AddWithValue("$policy", r.Policy.Name());
        command.Parameters.AddWithValue("$ratio", r.Ratio);
        command.Parameters.AddWithValue("$chunk", r.ChunkLength);
        command.Parameters.AddWithValue("$context", r.ContextTokens);
        command.Parameters.AddWithValue("$memory", r.MemoryTokens);
        command.Parameters.AddWithValue("$next", r.NextPosition);
        command.Parameters.AddWithValue("$bytes", r.Bytes);
        command.Parameters.AddWithValue("$created", r.Created.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$file", memory.File);
        bool added = command.ExecuteNonQuery() == 1;
        transaction.Commit();
        return added;
    }

    public MemoryRecord? Find(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM memory_files WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    public StoredMemory? Load(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns}, file FROM memory_files WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        return new StoredMemory(ReadRecord(reader), reader[12] as byte[] ?? throw new InvalidDataException($"memory {id}: the row's file is not a BLOB"));
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
        command.CommandText = "DELETE FROM memory_files WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteNonQuery() == 1;
    }

    public IReadOnlyList<MemoryRecord> List(int offset, int limit)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM memory_files ORDER BY created DESC, id LIMIT $limit OFFSET $offset";
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        using var reader = command.ExecuteReader();
        var records = new List<MemoryRecord>();
        while (reader.Read()) records.Add(ReadRecord(reader));
        return records;
    }

    public int Count()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM memory_files";
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

    static MemoryRecord ReadRecord(SqliteDataReader r)
    {
        string id = r.GetString(0), kind = r.GetString(3), policy = r.GetString(4);
        if (!KebabCase.TryParse(kind, out MemoryKind memoryKind))
            throw new InvalidDataException($"memory {id}: the row's kind '{kind}' is not embeddings or key-values");
        MaskPolicy maskPolicy;
        try { maskPolicy = MaskPolicyNames.Parse(policy); }
        catch (ArgumentException e) { throw new InvalidDataException($"memory {id}: the row's policy: {e.Message}"); }
        return new(id, r.GetString(1), r.GetString(2), memoryKind, maskPolicy, r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8),
            r.GetInt64(9), r.GetInt64(10), DateTimeOffset.Parse(r.GetString(11), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
    }

    // Pooled connections keep the file open; clearing the pool lets the file be deleted or copied after disposal.
    public void Dispose() => SqliteConnection.ClearPool(new SqliteConnection(connectionString));
}
