namespace PicSharp.Tokenization;

/// <summary>A tokenizer.json that is malformed or uses a feature PicSharp does not support.</summary>
public sealed class TokenizerFormatException(string message) : Exception(message);
