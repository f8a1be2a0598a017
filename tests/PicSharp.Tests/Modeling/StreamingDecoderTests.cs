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

/// <summary>The stop strings of <see cref="StreamingDecoder"/>, fed whole pieces of text (token i decodes to piece i).</summary>
public class StopStringTests
{
    static (StreamingDecoder Decoder, Func<string, string> Push) Streaming(IReadOnlyList<string> stops)
    {
        var pieces = new List<string>();
        var decoder = new StreamingDecoder(ids => string.Concat(ids.Select(i => pieces[i])), stops);
        return (decoder, piece => { pieces.Add(piece); return decoder.Push(pieces.Count - 1); });
    }

    [Fact]
    public void Holds_back_possible_stop_string_starts_and_withholds_the_stop_string()
    {
        var (filter, push) = Streaming(["\nQ:", "END"]);
        Assert.Equal("The answer", push("The answer"));
        Assert.Equal(" is 4.", push(" is 4.\n")); // "\n" may start "\nQ:"
        Assert.Equal("\nNext ", push("Next E"));   // "E" may start "END"
        Assert.Equal("", push("N"));
        Assert.Equal("", push("D and more"));
        Assert.True(filter.Stopped);
        Assert.Equal("", filter.Flush());
        Assert.Equal(("END", "The answer is 4.\nNext "), (filter.StopString, filter.Text));
    }

    [Fact]
    public void Releases_held_text_when_it_stops_matching_or_at_the_end()
    {
        var (filter, push) = Streaming(["END"]);
        Assert.Equal("a", push("aEN"));
        Assert.Equal("ENx", push("x"));
        Assert.Equal("y", push("yE"));
        Assert.Equal("E", filter.Flush());
        Assert.False(filter.Stopped);
        Assert.Equal("abc", Streaming([]).Push("abc"));
    }

    [Fact]
    public void Trimmed_text_streams_without_leading_or_trailing_white_space_and_adds_up_to_the_final_text()
    {
        var pieces = new List<string> { " ", " Par", "is ", " \n", "Question" };
        var decoder = new StreamingDecoder(ids => string.Concat(ids.Select(i => pieces[i])), ["\n"], trim: true);
        var streamed = Enumerable.Range(0, pieces.Count).Select(decoder.Push).ToList();
        streamed.Add(decoder.Flush());
        Assert.Equal(["", "Par", "is", "", "", ""], streamed);
        Assert.Equal("Paris", decoder.Text);
        Assert.Equal(decoder.Text, string.Concat(streamed));
    }
}
