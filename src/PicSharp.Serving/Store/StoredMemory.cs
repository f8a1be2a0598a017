namespace PicSharp.Serving.Store;

/// <summary>A whole stored memory: metadata, the context's token ids (for appending and full-context answers), tensors.</summary>
public sealed record StoredMemory(MemoryRecord Record, int[] ContextIds, MemoryBlob Tensors);
