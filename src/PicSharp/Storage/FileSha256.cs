using System.Security.Cryptography;

namespace PicSharp.Storage;

/// <summary>Content ids of whole files: lowercase hex SHA-256, streamed (archives can be large).</summary>
public static class FileSha256
{
    public static string Hex(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
