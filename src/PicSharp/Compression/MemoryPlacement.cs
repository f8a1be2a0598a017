namespace PicSharp.Compression;

/// <summary>Where memory tokens sit in the compressor's input. With a block mask both give the same function.</summary>
public enum MemoryPlacement { Interleaved, Appended }
