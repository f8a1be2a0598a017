namespace PicSharp.Serving.Tests;

/// <summary>Text with nothing in it (empty, blank, only a byte-order mark) is refused by the library every front end calls.</summary>
[Collection(nameof(TinyService))]
public sealed class BlankTextTests(TinyService tiny)
{
    [Theory]
    [InlineData("")]
    [InlineData(" \n\t")]
    [InlineData("\ufeff")]
    [InlineData("\ufeff\n\n \ufeff")]
    public async Task Blank_text_is_refused_before_it_reaches_the_queue(string text)
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var error = Assert.Throws<EmptyTextException>(() => { _ = server.Service.CreateAsync(text); });
        Assert.Contains("empty", error.Message);
        Assert.Equal(0, server.Store.Count());
    }
}
