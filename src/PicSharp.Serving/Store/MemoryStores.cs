namespace PicSharp.Serving.Store;

/// <summary>The store `--store` names: a PostgreSQL address (<see cref="PostgresAddress"/>), else a SQLite file path.</summary>
public static class MemoryStores
{
    public static IMemoryStore Open(string store)
    {
        if (string.IsNullOrWhiteSpace(store)) throw new InvalidInputException("--store is empty: give a SQLite file or a PostgreSQL address");
        return PostgresAddress.IsPostgres(store) ? new PostgresMemoryStore(store) : new SqliteMemoryStore(Path.GetFullPath(store));
    }
}
