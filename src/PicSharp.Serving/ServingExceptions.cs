namespace PicSharp.Serving;

/// <summary>Text that has nothing in it to compress or ask.</summary>
public sealed class EmptyTextException(string message) : ArgumentException(message);

/// <summary>A context with more tokens than the compressor takes.</summary>
public sealed class ContextTooLongException(int tokens, int maxTokens)
    : ArgumentException($"the context has {tokens} tokens but this compressor takes at most {maxTokens}")
{
    public int Tokens { get; } = tokens;
    public int MaxTokens { get; } = maxTokens;
}

/// <summary>A memory plus question plus answer that would run past the decoder's position range.</summary>
public sealed class PromptTooLongException(long inputPositions, int maxNewTokens, int maxPositions)
    : ArgumentException($"the decoder input takes {inputPositions} positions and the answer up to {maxNewTokens} more, " +
        $"but the model has {maxPositions}; ask a shorter question, allow fewer answer tokens, or use a shorter context");

/// <summary>No memory with that id in the store.</summary>
public sealed class MemoryNotFoundException(string id) : KeyNotFoundException($"no memory with id '{id}'")
{
    public string Id { get; } = id;
}
