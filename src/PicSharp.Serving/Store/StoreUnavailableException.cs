namespace PicSharp.Serving.Store;

/// <summary>The store cannot be reached or cannot take the request now (database down, restarting, out of connections):
/// not the caller's fault and not a bug, so the service answers 503 and the caller may retry.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : IOException(message, inner);
