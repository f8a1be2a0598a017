using System.Data.Common;
using System.Globalization;
using PicSharp.Compression;
using PicSharp.Storage;

namespace PicSharp.Serving.Store;

/// <summary>
/// The memory_files row both stores keep: one column per <see cref="MemoryRecord"/> field (kind and policy by their
/// names) and the memory file's bytes. The SQL here is the dialect SQLite and PostgreSQL share, so both stores insert,
/// read and check a row the same way and differ only in how they connect and what types they declare.
/// </summary>
static class MemoryColumns
{
    public const string Names = "id, compressor_id, base_model_id, kind, policy, ratio, chunk_length, context_tokens, memory_tokens, next_position, bytes, created";

    /// <summary>One statement, so one transaction: the row is wholly there or absent. A row with the id already there
    /// wins (content-addressed ids: it is the same memory), and the affected count says whether this insert added it.</summary>
    public const string Insert = $"""
        INSERT INTO memory_files ({Names}, file)
        VALUES (@id, @compressor_id, @base_model_id, @kind, @policy, @ratio, @chunk_length, @context_tokens, @memory_tokens, @next_position, @bytes, @created, @file)
        ON CONFLICT (id) DO NOTHING
        """;

    public const string Find = $"SELECT {Names} FROM memory_files WHERE id = @id";
    public const string Load = $"SELECT {Names}, file FROM memory_files WHERE id = @id";
    public const string Delete = "DELETE FROM memory_files WHERE id = @id";
    public const string List = $"SELECT {Names} FROM memory_files ORDER BY created DESC, id LIMIT @limit OFFSET @offset";
    public const string Count = "SELECT COUNT(*) FROM memory_files";

    /// <summary>The insert's parameters; <paramref name="created"/> gives the time as the store keeps it.</summary>
    public static void Bind(DbCommand command, StoredMemory memory, Func<DateTimeOffset, object> created)
    {
        var r = memory.Record;
        (string Name, object Value)[] values =
        [
            ("id", r.Id), ("compressor_id", r.CompressorId), ("base_model_id", r.BaseModelId), ("kind", KebabCase.Name(r.Kind)),
            ("policy", r.Policy.Name()), ("ratio", r.Ratio), ("chunk_length", r.ChunkLength), ("context_tokens", r.ContextTokens),
            ("memory_tokens", r.MemoryTokens), ("next_position", r.NextPosition), ("bytes", r.Bytes), ("created", created(r.Created)),
            ("file", memory.File),
        ];
        foreach (var (name, value) in values) Parameter(command, name, value);
    }

    public static void Parameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>The record of the reader's current row (columns in <see cref="Names"/> order); a kind or policy this
    /// version does not know is a damaged row, named.</summary>
    public static MemoryRecord Read(DbDataReader r)
    {
        string id = r.GetString(0), kind = r.GetString(3), policy = r.GetString(4);
        if (!KebabCase.TryParse(kind, out MemoryKind memoryKind))
            throw new InvalidDataException($"memory {id}: the row's kind '{kind}' is not embeddings or key-values");
        MaskPolicy maskPolicy;
        try { maskPolicy = MaskPolicyNames.Parse(policy); }
        catch (ArgumentException e) { throw new InvalidDataException($"memory {id}: the row's policy: {e.Message}"); }
        // SQLite keeps the time as round-trip text, PostgreSQL as timestamptz (read back as a UTC DateTime).
        var created = r.GetValue(11) switch
        {
            string text => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            DateTime utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)),
            var other => throw new InvalidDataException($"memory {id}: the row's created is a {other.GetType().Name}, not a time"),
        };
        return new(id, r.GetString(1), r.GetString(2), memoryKind, maskPolicy, r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8),
            r.GetInt64(9), r.GetInt64(10), created);
    }

    /// <summary>The stored memory of the reader's current row (read by <see cref="Load"/>).</summary>
    public static StoredMemory ReadWhole(DbDataReader r)
    {
        var record = Read(r);
        return new StoredMemory(record, r.GetValue(12) as byte[] ?? throw new InvalidDataException($"memory {record.Id}: the row's file is not a BLOB"));
    }
}
