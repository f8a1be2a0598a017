namespace PicSharp;

/// <summary>Text that has nothing in it to compress or ask.</summary>
public sealed class EmptyTextException(string message) : InvalidInputException(message);
