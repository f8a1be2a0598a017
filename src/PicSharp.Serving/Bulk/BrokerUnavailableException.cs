namespace PicSharp.Serving.Bulk;

/// <summary>The message broker cannot be reached: not the caller's input and not a bug.</summary>
public sealed class BrokerUnavailableException(string message, Exception inner) : IOException(message, inner);
