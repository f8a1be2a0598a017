using System.Collections.Concurrent;
using PicSharp.Answering;
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
    // tens of key-values ones. Each question borrows its own views of them (DecodedMemories.Lend), so a memory the
    // cache drops stays valid for the questions already waiting on it.
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

    // Creates of one memory that overlap share one compression: the first queues it, the others wait for it (a
    // duplicate takes no queue slot). The shared job stops only when every caller waiting for it has given up.
    readonly ConcurrentDictionary<string, InFlightCreate> inFlight = new();
    long coalescedCreates;

    /// <summary>Creates (or appends) that joined one already in flight for the same memory instead of compressing again.</summary>
    public long CoalescedCreates => Interlocked.Read(ref coalescedCreates);

    Task<MemoryResult> StoreAsync(IReadOnlyList<int> ids, StoredMemory? extending, Action<int, int>? progress, CancellationToken cancel)
    {
        string id = MemoryKey.Of(engine.CompressorId, ids);
        if (store.Find(id) is { } existing) return Task.FromResult(new MemoryResult(existing, false, TimeSpan.Zero, TimeSpan.Zero));

        var flight = new InFlightCreate();
        var running = inFlight.GetOrAdd(id, flight);
        // A create whose callers all left is being cancelled: start afresh rather than share its cancellation.
        if (running != flight && running.Cancel.IsCancellationRequested && inFlight.TryUpdate(id, flight, running)) running = flight;
        if (running != flight)
        {
            Interlocked.Increment(ref coalescedCreates);
            return JoinedAsync(running, progress, cancel);
        }
        Task<Queued<StoredMemory>> job;
        try
        {
            job = queue.Run(extending is null ? "compress" : "append", token =>
            {
                using var old = extending is null ? null : Decode(extending);
                using var memory = old is null ? engine.Compress(ids, flight.Report, token) : engine.Extend(old.Memory, ids, flight.Report, token);
                return StoredMemory.Of(memory, engine.MemoryInfo, ids, DateTimeOffset.UtcNow);
            }, flight.Cancel.Token);
        }
        catch (Exception e)
        {
            _ = flight.CompleteAsync(Task.FromException<MemoryResult>(e));
            inFlight.TryRemove(new(id, flight));
            throw;
        }
        var saved = SaveAsync(id, ids, job);
        _ = saved.ContinueWith(_ => inFlight.TryRemove(new(id, flight)), TaskScheduler.Default);
        _ = flight.CompleteAsync(saved);
        return flight.JoinAsync(progress, cancel);
    }

    static async Task<MemoryResult> JoinedAsync(InFlightCreate running, Action<int, int>? progress, CancellationToken cancel) =>
        await running.JoinAsync(progress, cancel) with { Created = false };

    async Task<MemoryResult> SaveAsync(string id, IReadOnlyList<int> ids, Task<Queued<StoredMemory>> pending)
    {
        var job = await pending;
        var record = job.Result.Record;
        bool added = store.Add(job.Result);
        logger.LogInformation("memory {MemoryId}: {ContextTokens} context tokens -> {MemoryTokens} memory tokens ({Bytes} bytes), queue {QueueMs:F0} ms, model {ModelMs:F0} ms",
            id, ids.Count, record.MemoryTokens, record.Bytes, job.QueueWait.TotalMilliseconds, job.ModelTime.TotalMilliseconds);
        // Two services on one store can race; the store keeps the first, which is the same memory.
        return new MemoryResult(added ? record : store.Find(id) ?? record, added, job.QueueWait, job.ModelTime);
    }

    /// <summary>Answers a question from a stored memory; <paramref name="onText"/> receives the answer as it grows.
    /// Questions waiting in the queue together are answered as one decoding batch (<see cref="ModelQueue.MaxBatch"/>).</summary>
    /// <remarks>Bad input and a full queue throw here, before a task exists.</remarks>
    public Task<Queued<AnswerResult>> AskAsync(string id, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default, Sampling? sampling = null)
    {
        var memory = decoded.Lend(LoadOwn(id), Decode);
        return Enqueue("ask", id, () => engine.Answerer.FromMemory(memory, question, maxNewTokens), memory, onText, cancel, sampling);
    }

    /// <summary>Answers with the stored memory's whole context in the prompt instead of the memory (for comparison).</summary>
    public Task<Queued<AnswerResult>> AskFullContextAsync(string id, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default, Sampling? sampling = null)
    {
        var stored = store.Load(id) ?? throw new MemoryNotFoundException(id);
        string context;
        using (var loaded = stored.Decode(expectedCompressorId: null, engine.Tokenizer.VocabSize)) context = engine.Tokenizer.Decode(loaded.ContextIds!);
        return Enqueue("ask-full-context", id, () => engine.Answerer.FromText(context, question, maxNewTokens), null, onText, cancel, sampling);
    }

    /// <summary>Answers with <paramref name="context"/> in the prompt (the frozen base model, nothing compressed), or
    /// from the question alone when it is null (a chat that brings no context).</summary>
    public Task<Queued<AnswerResult>> AskFromTextAsync(string? context, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default, Sampling? sampling = null) =>
        Enqueue(context is null ? "ask-no-context" : "ask-full-context", "(none)", () => engine.Answerer.FromText(context, question, maxNewTokens), null, onText, cancel, sampling);

    // Every question crosses the queue as one AnswerRequest, made (tokenised and checked) before it waits. Memory
    // questions share one batched delegate, so those that wait together are answered together; a question with the
    // whole text in its prompt runs alone (padding short questions to a document's length would cost more than a
    // batch saves). The memory read for the question is the caller's until the answer is done.
    Task<Queued<AnswerResult>> Enqueue(string operation, string id, Func<AnswerRequest> build, CompressedMemory? memory,
        Action<string>? onText, CancellationToken cancel, Sampling? sampling)
    {
        try
        {
            sampling?.Validate();
            var request = build() with { OnText = onText, Cancel = cancel, Sampling = sampling ?? Sampling.Greedy };
            var pending = request.Memory is null
                ? queue.Run(operation, token => Answered(engine.Answerer.Answer([request with { Cancel = token }])[0], token), cancel)
                : queue.RunBatched(operation, AnswerBatch, request, cancel);
            return LoggedAsync(operation, id, pending, memory);
        }
        catch { memory?.Dispose(); throw; }
    }

    // A caller who left while its answer was made gets its cancellation, not a cut answer.
    static AnswerResult Answered(AnswerResult answer, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        return answer;
    }

    // One delegate for every memory question: the queue batches jobs whose work is the same.
    Func<IReadOnlyList<(AnswerRequest Item, CancellationToken Cancel)>, IReadOnlyList<AnswerResult>>? answerBatch;
    Func<IReadOnlyList<(AnswerRequest Item, CancellationToken Cancel)>, IReadOnlyList<AnswerResult>> AnswerBatch =>
        answerBatch ??= asks => engine.Answerer.Answer(asks.Select(a => a.Item with { Cancel = a.Cancel }).ToList());

    async Task<Queued<AnswerResult>> LoggedAsync(string operation, string id, Task<Queued<AnswerResult>> pending, CompressedMemory? memory)
    {
        try
        {
            var done = await pending;
            logger.LogInformation("{Operation} {MemoryId}: {PromptTokens} prompt tokens, {AnswerTokens} answer tokens, queue {QueueMs:F0} ms, model {ModelMs:F0} ms, batch of {BatchSize}",
                operation, id, done.Result.PromptTokens, done.Result.AnswerTokens, done.QueueWait.TotalMilliseconds, done.ModelTime.TotalMilliseconds, done.BatchSize);
            return done;
        }
        finally { memory?.Dispose(); }
    }

    public MemoryRecord Get(string id) => store.Find(id) ?? throw new MemoryNotFoundException(id);

    public void Delete(string id)
    {
        if (!store.Delete(id)) throw new MemoryNotFoundException(id);
        logger.LogInformation("memory {MemoryId} deleted", id);
    }

    // A memory made by another compressor would decode to nonsense, a damaged one to wrong answers: both are refused
    // in the request that asked for it, naming the memory (a batch of questions never fails for one bad row): the
    // compressor here, the damage by Decode, which every caller runs (or ran, for a memory kept decoded) before the
    // memory reaches the queue.
    StoredMemory LoadOwn(string id)
    {
        var stored = store.Load(id) ?? throw new MemoryNotFoundException(id);
        if (stored.Record.CompressorId != engine.CompressorId)
            throw new ForeignMemoryException($"memory {id} was made by compressor {stored.Record.CompressorId}, not by the loaded compressor {engine.CompressorId}; compress the text again");
        return stored;
    }

    LoadedMemory Decode(StoredMemory stored) => stored.Decode(engine.CompressorId, engine.Tokenizer.VocabSize);
}
