namespace PicSharp.Storage;

/// <summary>Enum values as the kebab-case names files and command lines use (KeyValues ↔ "key-values").</summary>
public static class KebabCase
{
    public static string Name<T>(T value) where T : struct, Enum =>
        string.Concat(value.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public static bool TryParse<T>(string name, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
            if (Name(candidate) == name) { value = candidate; return true; }
        value = default;
        return false;
    }
}
