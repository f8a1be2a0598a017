namespace PicSharp.Compression;

/// <summary>How a new compressor's memory-token and task-token embeddings start (trained ones are loaded instead).</summary>
public enum MemoryInit
{
    /// <summary>Independent normal draws with the per-element spread of the vocabulary's embeddings.</summary>
    Random,
    /// <summary>
    /// The mean of the vocabulary's embeddings plus noise at a tenth of their spread: every memory token starts where
    /// an "average" token sits, a point the frozen decoder has seen in every direction, and the noise keeps the slots
    /// apart so they can learn different roles.
    /// </summary>
    VocabMean,
}
