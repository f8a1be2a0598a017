namespace PicSharp;

/// <summary>Text that has nothing in it to compress or ask.</summary>
public sealed class EmptyTextException(string message) : InvalidInputException(message)
{
    /// <summary>Whether <paramref name="text"/> has nothing to read: empty, white space or byte-order marks only (an
    /// editor's "empty" UTF-8 file is often just a BOM).</summary>
    public static bool IsBlank(string? text) => string.IsNullOrEmpty(text) || text.All(c => char.IsWhiteSpace(c) || c == '\uFEFF');
}
