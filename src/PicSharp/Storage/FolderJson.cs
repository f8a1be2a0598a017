using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Storage;

/// <summary>Typed reads from the small JSON files of adapter, compressor and memory folders, with errors naming the field.</summary>
sealed class FolderJson(JsonObject root, Func<string, Exception> error)
{
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found", path);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: must hold a JSON object");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}"); }
    }

    T Read<T>(string key, T? fallback, bool hasFallback)
    {
        JsonNode? node = root[key];
        if (node is null) return hasFallback ? fallback! : throw error($"missing field '{key}'");
        try { return node.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw error($"field '{key}' has an invalid value {node.ToJsonString()} (expected {typeof(T).Name})");
        }
    }

    public string String(string key) => Read<string>(key, null, false);
    public int Int(string key) => Read<int>(key, 0, false);
    public long Long(string key) => Read<long>(key, 0, false);
    public bool Bool(string key) => Read<bool>(key, false, false);
    public double Double(string key) => Read<double>(key, 0, false);
    public double Double(string key, double fallback) => Read(key, fallback, true);

    /// <summary>The enum value whose kebab-case name (`key-values`) is the field's value.</summary>
    public T Enum<T>(string key) where T : struct, System.Enum
    {
        string name = String(key);
        return KebabCase.TryParse(name, out T value)
            ? value
            : throw error($"field '{key}' = '{name}' is not one of {string.Join(", ", System.Enum.GetValues<T>().Select(KebabCase.Name))}");
    }
}
