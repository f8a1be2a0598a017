namespace PicSharp.Serving;

/// <summary>A context with more tokens than the compressor takes.</summary>
public sealed class ContextTooLongException(int tokens, int maxTokens)
    : InvalidInputException($"the context has {tokens} tokens but this compressor takes at most {maxTokens}")
{
    public int Tokens { get; } = tokens;
    public int MaxTokens { get; } = maxTokens;
}
