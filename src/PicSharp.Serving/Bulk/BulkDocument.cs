namespace PicSharp.Serving.Bulk;

/// <summary>One document to compress: its text and where it came from (a file path, or a JSON lines file and line).</summary>
public sealed record BulkDocument(string Source, string Text);
