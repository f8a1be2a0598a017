using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PicSharp.Serving.Store;

/// <summary>
/// A memory's id: hex SHA-256 of the compressor fingerprint and the context's token ids (little-endian int32), so the
/// same document compressed twice by the same compressor gets one id and is stored once.
/// </summary>
public static class MemoryKey
{
    public static string Of(string compressorId, IReadOnlyList<int> contextIds)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(compressorId + "\n"));
        hash.AppendData(TokenBytes(contextIds));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static byte[] TokenBytes(IReadOnlyList<int> ids)
    {
        var bytes = new byte[ids.Count * sizeof(int)];
        for (int i = 0; i < ids.Count; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), ids[i]);
        return bytes;
    }
}
