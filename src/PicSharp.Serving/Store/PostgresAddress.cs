using Npgsql;

namespace PicSharp.Serving.Store;

/// <summary>
/// A PostgreSQL store's address as users write it: Npgsql's keywords (<c>Host=db;Database=pic;Username=pic</c>) or
/// libpq's URI (<c>postgres://user:password@host:5432/pic?sslmode=require</c>, <c>postgresql:///pic?host=/run/postgresql</c>
/// for a unix socket), so the string that works for psql works here.
/// </summary>
public static class PostgresAddress
{
    public static bool IsPostgres(string store) =>
        store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || store.Contains("host=", StringComparison.OrdinalIgnoreCase) && store.Contains(';');

    public static NpgsqlConnectionStringBuilder Parse(string store)
    {
        try
        {
            var builder = store.Contains("://") ? FromUri(store) : new NpgsqlConnectionStringBuilder(store);
            if (string.IsNullOrEmpty(builder.Host)) throw new InvalidInputException($"the store address {Describe(builder)} names no host");
            // Fail a request in seconds while the database is down, rather than hold it for Npgsql's default 15 s.
            if (!store.Contains("timeout", StringComparison.OrdinalIgnoreCase)) builder.Timeout = 5;
            return builder;
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException($"the store address is not a PostgreSQL connection string or postgres:// URI: {e.Message}");
        }
    }

    static NpgsqlConnectionStringBuilder FromUri(string store)
    {
        if (!Uri.TryCreate(store, UriKind.Absolute, out var uri))
            throw new InvalidInputException("the store address is not a valid postgres:// URI");
        var builder = new NpgsqlConnectionStringBuilder();
        if (uri.Host.Length > 0) builder.Host = uri.Host;
        if (!uri.IsDefaultPort && uri.Port > 0) builder.Port = uri.Port;
        if (uri.UserInfo.Length > 0)
        {
            string[] user = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(user[0]);
            if (user.Length == 2) builder.Password = Uri.UnescapeDataString(user[1]);
        }
        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = pair.Split('=', 2);
            string key = Uri.UnescapeDataString(parts[0]), value = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : "";
            // libpq's names where Npgsql spells them otherwise; the rest differ by '_' for ' ' (application_name).
            builder[key switch
            {
                "user" => "Username", "dbname" => "Database", "connect_timeout" => "Timeout",
                "target_session_attrs" => "Target Session Attributes", _ => key.Replace('_', ' '),
            }] = value;
        }
        return builder;
    }

    /// <summary>The address for logs and /ready: postgresql://user@host:port/database, never the password.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"postgresql://{(string.IsNullOrEmpty(builder.Username) ? "" : builder.Username + "@")}{builder.Host}:{builder.Port}/{builder.Database}";
}
