using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>The OpenAI-compatible endpoints driven by the official OpenAI .NET client, which no one here wrote.</summary>
[Collection(nameof(TinyService))]
public sealed class OpenAiClientTests(TinyService tiny)
{
    static OpenAIClientOptions Options(RunningServer server) => new() { Endpoint = new Uri(server.Address, "/v1") };

    [Fact]
    public async Task Chat_completion_compresses_the_context_once_and_answers_from_memory()
    {
        await using var server = await RunningServer.StartAsync(tiny, new Http.ServeOptions { ApiKey = "k1" });
        var chat = new ChatClient("picsharp", new ApiKeyCredential("k1"), Options(server));
        List<ChatMessage> messages = [new SystemChatMessage(TinyService.Passage), new UserChatMessage("Who kept the lighthouse?")];
        ChatCompletion completion = await chat.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 6 });

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.InRange(completion.Usage.OutputTokenCount, 0, 6);
        int contextTokens = server.Engine.Tokenize(TinyService.Passage).Count;
        Assert.True(completion.Usage.InputTokenCount > contextTokens);
        string memoryId = MemoryKey.Of(server.Engine.CompressorId, server.Engine.Tokenize(TinyService.Passage));
        Assert.NotNull(server.Store.Find(memoryId));

        // The answer is the decoder's answer from that memory (greedy, so the PicSharp API gives the same text).
        var direct = await server.Service.AskAsync(memoryId, "Who kept the lighthouse?", 6);
        Assert.Equal(direct.Result.Text, completion.Content.Count == 0 ? "" : completion.Content[0].Text);

        ChatCompletion again = await chat.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 6 });
        Assert.Equal(completion.Content.Count == 0 ? "" : completion.Content[0].Text, again.Content.Count == 0 ? "" : again.Content[0].Text);
        Assert.Equal(1, server.Store.Count());
    }

    [Fact]
    public async Task Streaming_chat_completion_arrives_in_chunks_that_add_up_to_the_answer()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        var chat = new ChatClient("picsharp", new ApiKeyCredential("unused"), Options(server));
        List<ChatMessage> messages = [new UserChatMessage(TinyService.Passage), new UserChatMessage("What did she row for?")];
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        int updates = 0;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 10 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.NotNull(finish);
        Assert.True(updates >= 2);
        ChatCompletion whole = await chat.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 10 });
        Assert.Equal(whole.Content.Count == 0 ? "" : whole.Content[0].Text, text.ToString().Trim());
        Assert.Equal(whole.FinishReason, finish);
    }

    // Issue 33: OpenAI clients send their own model names (llama.cpp's server takes any); this replaced a test that
    // asserted the opposite (an unknown model → 404). Errors still come in OpenAI's shape.
    [Fact]
    public async Task Any_model_name_is_answered_by_the_served_model_and_errors_come_in_openai_error_shape()
    {
        await using var server = await RunningServer.StartAsync(tiny, new Http.ServeOptions { ModelAliases = ["gpt-4o-mini"] });
        var models = new OpenAIModelClient(new ApiKeyCredential("unused"), Options(server));
        OpenAIModelCollection list = await models.GetModelsAsync();
        Assert.Equal(["picsharp", "gpt-4o-mini"], list.Select(m => m.Id));

        var other = new ChatClient("gpt-4o", new ApiKeyCredential("unused"), Options(server));
        List<ChatMessage> messages = [new SystemChatMessage(TinyService.Passage), new UserChatMessage("Who kept the lighthouse?")];
        ChatCompletion completion = await other.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 6 });
        Assert.Equal("picsharp", completion.Model);
        ChatCompletion served = await new ChatClient("picsharp", new ApiKeyCredential("unused"), Options(server)).CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 6 });
        Assert.Equal(served.Content.Count == 0 ? "" : served.Content[0].Text, completion.Content.Count == 0 ? "" : completion.Content[0].Text);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => other.CompleteChatAsync(messages, new ChatCompletionOptions { TopP = 0 }));
        Assert.Equal(400, error.Status);
        Assert.Contains("top_p must be greater than 0", error.Message);
    }
}
