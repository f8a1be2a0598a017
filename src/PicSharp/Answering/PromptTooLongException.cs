namespace PicSharp.Answering;

/// <summary>A memory plus question plus answer that would run past the decoder's position range.</summary>
public sealed class PromptTooLongException(long inputPositions, int maxNewTokens, int maxPositions)
    : InvalidInputException($"the decoder input takes {inputPositions} positions and the answer up to {maxNewTokens} more, " +
        $"but the model has {maxPositions}; ask a shorter question, allow fewer answer tokens, or use a shorter context");
