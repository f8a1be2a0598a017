using PicSharp.Compression;
using PicSharp.Serving.Store;
using PicSharp.Storage;
using Microsoft.Extensions.Logging;

namespace PicSharp.Serving;

/// <summary>
/// Compress once, ask many: the engine behind the model queue, with the store. Every front end (HTTP API, OpenAI
/// endpoint, web page, chat-client adapter) goes through here, so caching, limits and errors are the same everywhere.
/// </summary>
public sealed class MemoryService(PicEngine engine, IMemoryStore store, ModelQueue queue, ILogger logger)
{
    // Memory files' bytes kept decoded for asking again: hundreds of embeddings memories of the bundled compressor, or
    // tens of key-values ones; a batch's memories always stay.
    const long DecodedMemoryBytes = 256L << 20;
    readonly DecodedMemories decoded = new(DecodedMemoryBytes, queue.MaxBatch);

    public PicEngine Engine => engine;
    public IMemoryStore Store => store;
    public ModelQueue Queue => queue;

    /// <summary>The memory of <paramref name="text"/>: from the store when this compressor has seen the text, else compressed and stored.</summary>
    /// <remarks>Bad input and a full queue throw here, before a task exists, so a streaming caller can still answer
    /// with a plain error status.</remarks>
    public Task<MemoryResult> CreateAsync(string text, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (EmptyTextException.IsBlank(text)) throw new EmptyTextException("the text is empty: there is nothing to compress");
        var ids = engine.Tokenize(text);
        engine.CheckContextLength(ids.Count);
        return StoreAsync(ids, null, progress, cancel);
    }

    /// <summary>A new memory for the stored memory's context followed by <paramref name="text"/>; the old one stays.</summary>
    public Task<MemoryResult> AppendAsync(string id, string text, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (EmptyTextException.IsBlank(text)) throw new EmptyTextException("the text to append is empty");
        var stored = LoadOwn(id);
        int[] contextIds;
        using (var loaded = Decode(stored)) contextIds = loaded.ContextIds!;
        var ids = contextIds.Concat(engine.Tokenize(text)).ToArray();
        engine.CheckContextLength(ids.Length);
        return StoreAsync(ids, stored, progress, cancel);
    }

    Task<MemoryResult> StoreAsync(IReadOnlyList<int> ids, StoredMemory? extending, Action<int, int>? progress, CancellationToken cancel)
    {
        string id = MemoryKey.Of(engine.CompressorId, ids);
        if (store.Find(id) is { } existing) return Task.FromResult(new MemoryResult(existing, false, TimeSpan.Zero, TimeSpan.Zero));

        var job = queue.Run(extending is null ? "compress" : "append", token =>
        {
            using var old = extending is null ? null : Decode(extending);
            using var memory = old is null ? engine.Compress(ids, progress, token) : engine.Extend(old.Memory, ids, progress, token);
            return StoredMemory.Of(memory, engine.MemoryInfo, ids, DateTimeOffset.UtcNow);
        }, cancel);
        return SaveAsync(id, ids, job);
    }

    async Task<MemoryResult> SaveAsync(string id, IReadOnlyList<int> ids, Task<Queued<StoredMemory>> pending)
    {
        var job = await pending;
        var record = job.Result.Record;
        bool added = store.Add(job.Result);
        logger.LogInformation("memory {MemoryId}: {ContextTokens} context tokens -> {MemoryTokens} memory tokens ({Bytes} bytes), queue {QueueMs:F0} ms, model {ModelMs:F0} ms",
            id, ids.Count, record.MemoryTokens, record.Bytes, job.QueueWait.TotalMilliseconds, job.ModelTime.TotalMilliseconds);
        // Two requests for one new text can race; the store keeps the first, which is the same memory.
        return new MemoryResult(added ? record : store.Find(id) ?? record, added, job.QueueWait, job.ModelTime);
    }

    /// <summary>Answers a question from a stored memory; <paramref name="onText"/> receives the answer as it grows.
    /// Questions waiting in the queue together are answered as one decoding batch (<see cref="ModelQueue.MaxBatch"/>).</summary>
    public Task<Queued<AnswerResult>> AskAsync(string id, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        var prompt = engine.QuestionIds(question); // an empty question fails here, before it waits in the queue
        var stored = LoadOwn(id);
        engine.CheckMemoryAnswerLength(stored.Record.Kind, stored.Record.MemoryTokens, stored.Record.NextPosition, prompt.Count, maxNewTokens);
        return LoggedAsync("ask", id, queue.RunBatched("ask", AnswerBatch, new PendingAsk(stored, question, maxNewTokens, onText), cancel));
    }

    sealed record PendingAsk(StoredMemory Stored, string Question, int MaxNewTokens, Action<string>? OnText);

    // One delegate for every ask: the queue batches jobs whose work is the same.
    Func<IReadOnlyList<(PendingAsk Item, CancellationToken Cancel)>, IReadOnlyList<AnswerResult>>? answerBatch;
    Func<IReadOnlyList<(PendingAsk Item, CancellationToken Cancel)>, IReadOnlyList<AnswerResult>> AnswerBatch => answerBatch ??= AnswerFromMemories;

    IReadOnlyList<AnswerResult> AnswerFromMemories(IReadOnlyList<(PendingAsk Item, CancellationToken Cancel)> asks)
    {
        var memories = asks.Select(a => decoded.Get(a.Item.Stored, Decode).Memory).ToList(); // the cache keeps and disposes them
        return engine.AnswerFromMemories(asks.Select((a, i) => new MemoryAsk(memories[i], a.Item.Question, a.Item.MaxNewTokens)
        { OnText = a.Item.OnText, Cancel = a.Cancel }).ToList());
    }

    /// <summary>Answers with the stored memory's whole context in the prompt instead of the memory (for comparison).</summary>
    public Task<Queued<AnswerResult>> AskFullContextAsync(string id, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        engine.QuestionIds(question);
        var stored = store.Load(id) ?? throw new MemoryNotFoundException(id);
        string context;
        using (var loaded = stored.Decode(expectedCompressorId: null, engine.Tokenizer.VocabSize)) context = engine.Tokenizer.Decode(loaded.ContextIds!);
        return LoggedAsync("ask-full-context", id, queue.Run("ask-full-context", token => engine.AnswerFromContext(context, question, maxNewTokens, onText, token), cancel));
    }

    /// <summary>Answers from the question alone (the frozen base model), for a chat that brings no context.</summary>
    public Task<Queued<AnswerResult>> AskWithoutContextAsync(string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        engine.QuestionIds(question);
        return LoggedAsync("ask-no-context", "(none)", queue.Run("ask-no-context", token => engine.AnswerFromContext(null, question, maxNewTokens, onText, token), cancel));
    }

    async Task<Queued<AnswerResult>> LoggedAsync(string operation, string id, Task<Queued<AnswerResult>> pending)
    {
        var done = await pending;
        logger.LogInformation("{Operation} {MemoryId}: {PromptTokens} prompt tokens, {AnswerTokens} answer tokens, queue {QueueMs:F0} ms, model {ModelMs:F0} ms, batch of {BatchSize}",
            operation, id, done.Result.PromptTokens, done.Result.AnswerTokens, done.QueueWait.TotalMilliseconds, done.ModelTime.TotalMilliseconds, done.BatchSize);
        return done;
    }

    public MemoryRecord Get(string id) => store.Find(id) ?? throw new MemoryNotFoundException(id);

    public void Delete(string id)
    {
        if (!store.Delete(id)) throw new MemoryNotFoundException(id);
        logger.LogInformation("memory {MemoryId} deleted", id);
    }

    // A memory made by another compressor would decode to nonsense, a damaged one to wrong answers: both are refused
    // here, in the request that asked for it, naming the memory (a batch of questions never fails for one bad row).
    // A memory kept decoded was checked when it was decoded.
    StoredMemory LoadOwn(string id)
    {
        var stored = store.Load(id) ?? throw new MemoryNotFoundException(id);
        if (stored.Record.CompressorId != engine.CompressorId)
            throw new ForeignMemoryException($"memory {id} was made by compressor {stored.Record.CompressorId}, not by the loaded compressor {engine.CompressorId}; compress the text again");
        if (!decoded.Contains(id)) using (Decode(stored)) { }
        return stored;
    }

    LoadedMemory Decode(StoredMemory stored) => stored.Decode(engine.CompressorId, engine.Tokenizer.VocabSize);
}
