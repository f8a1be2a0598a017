namespace PicSharp.Storage;

/// <summary>Another process holds the run folder's <see cref="RunFolderLock"/>. An <see cref="IOException"/>, so the
/// CLI reports it in one line like any other file-system problem.</summary>
public sealed class RunFolderInUseException(string message) : IOException(message);
