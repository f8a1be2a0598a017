namespace PicSharp.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character mapping used by byte-level BPE: printable Latin-1 bytes map to themselves, the
/// other 68 bytes (controls, space, ...) to code points from U+0100 upwards, so every token is a printable string.
/// </summary>
public static class ByteLevelAlphabet
{
    static readonly char[] CharOfByte = BuildCharOfByte();

    /// <summary>The character that stands for <paramref name="value"/> in byte-level vocabularies (space is 'Ġ').</summary>
    public static char CharFor(byte value) => CharOfByte[value];

    /// <summary>The byte-level spelling of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> utf8)
    {
        var chars = new char[utf8.Length];
        for (int i = 0; i < utf8.Length; i++)
            chars[i] = CharOfByte[utf8[i]];
        return new string(chars);
    }

    static char[] BuildCharOfByte()
    {
        var map = new char[256];
        var isPrintable = new bool[256];
        foreach (var (first, last) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
            for (int b = first; b <= last; b++)
                isPrintable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = isPrintable[b] ? (char)b : (char)next++;
        return map;
    }
}
