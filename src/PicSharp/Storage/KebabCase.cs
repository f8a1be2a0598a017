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

    /// <summary>The value named <paramref name="name"/>, or a refusal that names <paramref name="what"/> (a flag, a
    /// field) and the names it knows.</summary>
    public static T Parse<T>(string what, string name) where T : struct, Enum =>
        TryParse(name, out T value)
            ? value
            : throw new InvalidInputException($"{what}: unknown value '{name}'; use {Names<T>(", ")}");

    /// <summary>Every value's name, joined by <paramref name="separator"/>.</summary>
    public static string Names<T>(string separator) where T : struct, Enum => string.Join(separator, Enum.GetValues<T>().Select(v => Name(v)));
}
