using Microsoft.Extensions.AI;
using PicSharp.Serving.Chat;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>The Microsoft.Extensions.AI adapter: context messages become a cached memory, the last user message is answered from it.</summary>
[Collection(nameof(TinyService))]
public sealed class ChatClientAdapterTests(TinyService tiny)
{
    [Fact]
    public async Task Long_context_is_compressed_once_and_answers_match_the_service()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        IChatClient chat = new PicSharpChatClient(server.Service);
        List<ChatMessage> messages = [new(ChatRole.System, TinyService.Passage), new(ChatRole.User, "When was the tower painted?")];

        var response = await chat.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 8 });
        string memoryId = MemoryKey.Of(server.Engine.CompressorId, server.Engine.Tokenize(TinyService.Passage));
        Assert.Equal(memoryId, response.AdditionalProperties![PicSharpChatClient.MemoryIdProperty]);
        var direct = await server.Service.AskAsync(memoryId, "When was the tower painted?", 8);
        Assert.Equal(direct.Result.Text, response.Text);
        Assert.Equal(direct.Result.AnswerTokens, response.Usage!.OutputTokenCount);

        var streamed = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.GetStreamingResponseAsync(messages, new ChatOptions { MaxOutputTokens = 8 }))
        {
            streamed.Append(update.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(response.Text, streamed.ToString().Trim());
        Assert.Equal(response.FinishReason, finish);
        Assert.Equal(1, server.Store.Count()); // the second call found the memory by its hash

        var error = await Assert.ThrowsAsync<EmptyTextException>(() => chat.GetResponseAsync([new ChatMessage(ChatRole.System, "only context")]));
        Assert.Contains("no user message", error.Message);
    }
}
