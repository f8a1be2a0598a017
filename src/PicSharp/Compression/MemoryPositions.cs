namespace PicSharp.Compression;

/// <summary>Position ids of memory tokens: right after their span (ICAE) or spread evenly across it.</summary>
public enum MemoryPositions { Sequential, Uniform }
