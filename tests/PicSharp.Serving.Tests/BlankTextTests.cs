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

    [Theory]
    [InlineData(" \n\t")]
    [InlineData("\ufeff")]
    [InlineData("\ufeff\n\n \ufeff")]
    public async Task A_blank_question_is_refused_by_the_one_answering_path_before_it_reaches_the_queue(string question)
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var memory = await server.Service.CreateAsync("The lighthouse keeper Marta Olsen painted the tower red in 1921.");
        // Thrown by the call itself, not by the task it returns: refused before a job exists.
        Assert.Throws<EmptyTextException>(() => { _ = server.Service.AskAsync(memory.Record.Id, question, 8); });
        Assert.Throws<EmptyTextException>(() => { _ = server.Service.AskFullContextAsync(memory.Record.Id, question, 8); });
        Assert.Throws<EmptyTextException>(() => { _ = server.Service.AskFromTextAsync(null, question, 8); });
    }
}
