namespace PicSharp.Serving.Store;

/// <summary>One stored memory that failed its check, and why.</summary>
public sealed record StoreProblem(string Id, string Problem);
