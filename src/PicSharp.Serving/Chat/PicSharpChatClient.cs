using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using PicSharp.Answering;
using PicSharp.Modeling;

namespace PicSharp.Serving.Chat;

/// <summary>
/// <see cref="IChatClient"/> backed by PicSharp, for applications built on Microsoft.Extensions.AI or Semantic Kernel:
/// the messages before the last user message (a long document, a RAG context, a chat history) are compressed into a
/// memory, cached in the store by their hash, and the frozen decoder answers the last user message from that memory.
/// The memory id comes back in <see cref="ChatResponse.AdditionalProperties"/> as "pic_memory_id"; a chat with only a
/// user message is answered by the frozen base model from the question alone (no memory id). Temperature, top-p, stop
/// sequences and seed of <see cref="ChatOptions"/> are honoured (<see cref="Sampling"/>); tool and other roles are refused.
/// </summary>
public sealed class PicSharpChatClient(MemoryService service, string modelId = "picsharp", int defaultMaxOutputTokens = 32) : IChatClient
{
    public const string MemoryIdProperty = "pic_memory_id";

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (memoryId, contextTokens, answer) = await AskAsync(messages, options, null, cancellationToken);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, answer.Text))
        {
            ModelId = modelId,
            FinishReason = answer.Reason == StopReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = Usage(contextTokens, answer),
            AdditionalProperties = memoryId is null ? null : new() { [MemoryIdProperty] = memoryId },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pieces = Channel.CreateUnbounded<string>();
        var work = AskAsync(messages, options, piece => pieces.Writer.TryWrite(piece), cancellationToken);
        _ = work.ContinueWith(_ => pieces.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var piece in pieces.Reader.ReadAllAsync(cancellationToken))
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = modelId };
        var (memoryId, contextTokens, answer) = await work;
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = modelId,
            FinishReason = answer.Reason == StopReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage(contextTokens, answer))],
            AdditionalProperties = memoryId is null ? null : new() { [MemoryIdProperty] = memoryId },
        };
    }

    async Task<(string? MemoryId, int ContextTokens, AnswerResult Answer)> AskAsync(IEnumerable<ChatMessage> messages, ChatOptions? options,
        Action<string>? onText, CancellationToken cancel)
    {
        var (context, question) = ChatTurns.Split(messages.Select(m => (m.Role.Value, m.Text)).ToList());
        int maxTokens = options?.MaxOutputTokens ?? defaultMaxOutputTokens;
        var sampling = new Sampling
        {
            Temperature = options?.Temperature ?? 0, TopP = options?.TopP ?? 1, Seed = (ulong)(options?.Seed ?? 0),
            Stop = options?.StopSequences?.ToList() ?? [],
        };
        sampling.Validate();
        if (context is null) return (null, 0, (await service.AskFromTextAsync(null, question, maxTokens, onText, cancel, sampling)).Result);
        var memory = await service.CreateAsync(context, null, cancel);
        var answer = await service.AskAsync(memory.Record.Id, question, maxTokens, onText, cancel, sampling);
        return (memory.Record.Id, memory.Record.ContextTokens, answer.Result);
    }

    static UsageDetails Usage(int contextTokens, AnswerResult answer) => new()
    {
        InputTokenCount = contextTokens + answer.PromptTokens,
        OutputTokenCount = answer.AnswerTokens,
        TotalTokenCount = contextTokens + answer.PromptTokens + answer.AnswerTokens,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : serviceKey is null && serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("picsharp", null, modelId)
        : null;

    // The service, its engine and store belong to whoever made them.
    public void Dispose() { }
}
