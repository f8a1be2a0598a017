using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace PicSharp.Storage;

/// <summary>
/// Reads text files that must be UTF-8 (QA sets, corpora, prompts), strictly: invalid bytes are an
/// <see cref="InvalidDataException"/> naming the file and the byte offset instead of silently becoming U+FFFD.
/// A leading byte order mark is accepted and dropped (Windows editors write one; it is not part of the text).
/// </summary>
public static class Utf8File
{
    static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The file's bytes without a BOM, after checking they are valid UTF-8.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int start = bytes.AsSpan().StartsWith(Bom) ? Bom.Length : 0;
        Check(bytes.AsSpan(start), path, start);
        return start == 0 ? bytes : bytes[start..];
    }

    public static string ReadAllText(string path) => Encoding.UTF8.GetString(ReadAllBytes(path));

    /// <summary>Throws unless <paramref name="bytes"/> are valid UTF-8; offsets in the message count from
    /// <paramref name="offset"/> (where <paramref name="bytes"/> start in the file).</summary>
    static void Check(ReadOnlySpan<byte> bytes, string path, int offset)
    {
        char[] buffer = ArrayPool<char>.Shared.Rent(8192);
        try
        {
            while (!bytes.IsEmpty)
            {
                var status = Utf8.ToUtf16(bytes, buffer, out int read, out _, replaceInvalidSequences: false);
                if (status is OperationStatus.InvalidData or OperationStatus.NeedMoreData)
                    throw new InvalidDataException($"{path}: invalid UTF-8 at byte {offset + read} (0x{bytes[read]:X2}); the file must be UTF-8 text");
                bytes = bytes[read..];
                offset += read;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
