namespace PicSharp.Storage;

/// <summary>Another process holds the file's <see cref="FileClaim"/>. An <see cref="IOException"/>, so the CLI reports
/// it in one line like any other file-system problem.</summary>
public sealed class FileInUseException(string message) : IOException(message);
