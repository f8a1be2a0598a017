using System.Text;
using PicSharp.Modeling;

namespace PicSharp.Tests.Modeling;

public class StreamingDecoderTests
{
    // A byte-level vocabulary: token id = byte value; decoding invalid or incomplete UTF-8 gives U+FFFD.
    static string DecodeBytes(IReadOnlyList<int> ids) => Encoding.UTF8.GetString(ids.Select(i => (byte)i).ToArray());

    [Fact]
    public void Pieces_concatenate_to_the_text_and_never_split_a_multibyte_character()
    {
        const string text = "héllo 世界 👋!";
        var decoder = new StreamingDecoder(DecodeBytes);
        var pieces = Encoding.UTF8.GetBytes(text).Select(b => decoder.Push(b)).ToList();
        pieces.Add(decoder.Flush());

        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        // The three bytes of 世 arrive as "", "", "世".
        int start = Encoding.UTF8.GetByteCount("héllo ");
        Assert.Equal(["", "", "世"], pieces.Skip(start).Take(3));
    }

    [Fact]
    public void Flush_releases_a_character_that_never_completed()
    {
        var decoder = new StreamingDecoder(DecodeBytes);
        Assert.Equal("a", decoder.Push('a'));
        Assert.Equal("", decoder.Push(0xE4)); // first byte of a 3-byte character
        Assert.Equal("\uFFFD", decoder.Flush());
    }
}

public class StopStringFilterTests
{
    [Fact]
    public void Holds_back_possible_stop_string_starts_and_withholds_the_stop_string()
    {
        var filter = new StopStringFilter(["\nQ:", "END"]);
        Assert.Equal("The answer", filter.Push("The answer"));
        Assert.Equal(" is 4.", filter.Push(" is 4.\n")); // "\n" may start "\nQ:"
        Assert.Equal("\nNext ", filter.Push("Next E"));   // "E" may start "END"
        Assert.Equal("", filter.Push("N"));
        Assert.Equal("", filter.Push("D and more"));
        Assert.True(filter.Stopped);
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void Releases_held_text_when_it_stops_matching_or_at_the_end()
    {
        var filter = new StopStringFilter(["END"]);
        Assert.Equal("a", filter.Push("aEN"));
        Assert.Equal("ENx", filter.Push("x"));
        Assert.Equal("y", filter.Push("yE"));
        Assert.Equal("E", filter.Flush());
        Assert.False(filter.Stopped);
        Assert.Equal("abc", new StopStringFilter([]).Push("abc"));
    }
}
