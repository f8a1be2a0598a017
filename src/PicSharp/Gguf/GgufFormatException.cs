namespace PicSharp.Gguf;

/// <summary>A GGUF file that cannot be read or that is not what was asked for; the message names the file and the problem.</summary>
public sealed class GgufFormatException(string message) : Exception(message);
