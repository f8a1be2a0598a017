using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Gguf;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.LlamaCpp;

/// <summary>
/// The answerer on llama.cpp (through LLamaSharp): the same frozen decoder as <see cref="TorchAnswerer"/>, run from the
/// model's GGUF export. A memory goes in as input embeddings at the positions the TorchSharp decoder gives it
/// (0..count-1), then the task token's embedding, then the question's ids; answers are chosen, stopped and streamed
/// by the same code as TorchSharp's (<see cref="GenerationRow"/>, <see cref="TextGeneration.Choose"/>), so greedy
/// answers agree token for token with an fp32 export. Several questions decode as one llama.cpp batch, one sequence
/// id each, every sequence in its own KV cache.
/// llama.cpp aborts the process on a failed assert, so everything it is given is checked here first (widths, token
/// ids, positions, sequence counts, batch sizes): bad input gets an <see cref="InvalidInputException"/>, never a
/// native abort. Key-values memories cannot be fed through llama.cpp's public API and are refused, as is a decoder
/// adapter (llama.cpp runs the frozen base model). Not thread-safe: one decode at a time.
/// </summary>
public sealed class LlamaCppAnswerer : IAnswerer, IDisposable
{
    readonly LLamaWeights weights;
    readonly LLamaContext context;
    readonly AnswerRequests requests;
    readonly Compressor? compressor;
    readonly float[]? taskVector;
    readonly int hidden, vocab, sequences, batchTokens;

    /// <summary>The GGUF llama.cpp runs.</summary>
    public string GgufPath { get; }
    /// <summary>Positions one question may take (memory, prompt and answer): each sequence's KV cache.</summary>
    public int ContextTokens { get; }
    /// <summary>Most questions one <see cref="Answer"/> call takes.</summary>
    public int Sequences => sequences;

    LlamaCppAnswerer(string gguf, LLamaWeights weights, LLamaContext context, TextTokenizer tokenizer, LlamaForCausalLM model,
        Compressor? compressor, int window, int sequences, int batchTokens)
    {
        GgufPath = gguf;
        this.weights = weights;
        this.context = context;
        this.compressor = compressor;
        hidden = model.Config.HiddenSize;
        vocab = model.Config.VocabSize;
        this.sequences = sequences;
        this.batchTokens = batchTokens;
        ContextTokens = window;
        requests = new AnswerRequests(tokenizer, model.Config, window);
        if (compressor is not null)
            using (var _ = NewDisposeScope())
                taskVector = compressor.TaskEmbedding(TaskToken.Answer).to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>
    /// The llama.cpp engine for <paramref name="model"/>, loaded from the folder <paramref name="modelDir"/>: it runs
    /// <paramref name="gguf"/> when given (which must be PicSharp's export of that folder as it is now), else the export
    /// cached beside the folder in the model's dtype (<see cref="GgufCache"/>, written first on first use).
    /// </summary>
    /// <param name="compressor">whose memories it reads; null: it answers from text only.</param>
    /// <param name="onExport">hears the path before a first-use export starts.</param>
    public static LlamaCppAnswerer Open(string modelDir, string? gguf, LlamaForCausalLM model, TextTokenizer tokenizer, Compressor? compressor,
        LlamaCppOptions options, Action<string>? onExport = null)
    {
        var config = model.Config;
        options.Validate(config.MaxPositionEmbeddings);
        if (compressor is not null) RequireReadable(compressor);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidInputException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {config.VocabSize}");
        if (gguf is null) gguf = GgufCache.Ensure(modelDir, CacheType(model.Dtype), onExport);
        else GgufCache.RequireExportOf(gguf, modelDir);
        var file = GgufModel.Read(gguf);
        file.RequireMatches(config);
        bool fp32 = file.File.Find("general.file_type") is { } fileType && fileType.AsInteger() == 0;

        // A Mistral sliding window is the export's context (llama.cpp does not slide), and TorchSharp refuses longer sequences.
        int window = Math.Min(options.ContextTokens ?? config.MaxPositionEmbeddings, config.SlidingWindow ?? int.MaxValue);
        LlamaCppLog.Configure();
        var parameters = new ModelParams(gguf)
        {
            ContextSize = (uint)((long)window * options.Sequences),
            SeqMax = (uint)options.Sequences,
            // One KV cache per sequence: a question never attends over another's cells, and each may take the window.
            KVUnified = false,
            BatchSize = (uint)options.BatchTokens,
            UBatchSize = (uint)options.BatchTokens,
            Threads = options.Threads,
            BatchThreads = options.Threads,
            GpuLayerCount = 0,
            // An fp32 export computes in fp32 end to end (what makes answers equal TorchSharp's); other types keep
            // llama.cpp's default f16 cache.
            TypeK = fp32 ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16,
            TypeV = fp32 ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16,
            FlashAttention = false,
        };
        var weights = LLamaWeights.LoadFromFile(parameters);
        try
        {
            var context = weights.CreateContext(parameters);
            // What llama.cpp made of the request: the checks below use its numbers, not ours.
            int madeSequences = (int)context.NativeHandle.MaxSeq, madeBatch = (int)context.NativeHandle.BatchSize;
            int madeWindow = (int)(context.ContextSize / (uint)Math.Max(1, madeSequences));
            if (madeSequences < options.Sequences || madeBatch < 1 || madeWindow < 2 || context.EmbeddingSize != config.HiddenSize)
            {
                context.Dispose();
                throw new InvalidOperationException($"llama.cpp made a context of {context.ContextSize} cells, {madeSequences} sequences, batch {madeBatch}, " +
                    $"embeddings {context.EmbeddingSize} for a request of {parameters.ContextSize}, {options.Sequences}, {options.BatchTokens}, {config.HiddenSize}");
            }
            return new LlamaCppAnswerer(gguf, weights, context, tokenizer, model, compressor,
                Math.Min(window, madeWindow), options.Sequences, Math.Min(options.BatchTokens, madeBatch));
        }
        catch { weights.Dispose(); throw; }
    }

    /// <summary>The weight type of the cached export for a model loaded in <paramref name="dtype"/>: the same arithmetic
    /// as the TorchSharp model it stands in for.</summary>
    public static GgmlType CacheType(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => GgmlType.BF16,
        ScalarType.Float16 => GgmlType.F16,
        _ => GgmlType.F32,
    };

    static void RequireReadable(Compressor compressor)
    {
        if (compressor.Options.Kind == MemoryKind.KeyValues)
            throw new InvalidInputException("this compressor makes key-values memories, which llama.cpp cannot be given through its public API; use --engine torch");
    }

    public AnswerRequest FromMemory(CompressedMemory memory, string question, int maxNewTokens, int row = 0)
    {
        if (compressor is null) throw new InvalidOperationException("this answerer was made without a compressor, so it cannot read memories");
        RequireFeedable(memory);
        return requests.FromMemory(memory, question, maxNewTokens, row);
    }

    public AnswerRequest FromText(string? context, string question, int maxNewTokens) => requests.FromText(context, question, maxNewTokens);

    void RequireFeedable(CompressedMemory memory)
    {
        if (memory.Kind == MemoryKind.KeyValues)
            throw new InvalidInputException("a key-values memory cannot be given to llama.cpp through its public API; answer it with --engine torch");
        var shape = memory.Embeddings!.shape;
        if (shape.Length != 3 || shape[0] != memory.Batch)
            throw new InvalidInputException($"a memory's embeddings are [rows, vectors, width] with {memory.Batch} rows, got [{string.Join(", ", shape)}]");
        if (shape[2] != hidden)
            throw new InvalidInputException($"the memory's vectors are {shape[2]} wide but the model's embeddings are {hidden}: it was made for another model");
        foreach (int count in memory.Counts)
            if (count < 0 || count > shape[1]) throw new InvalidInputException($"a memory row counts {count} vectors but holds {shape[1]}");
    }

    public IReadOnlyList<AnswerResult> Answer(IReadOnlyList<AnswerRequest> asked)
    {
        Check(asked);
        var clock = Stopwatch.StartNew();
        var results = new GenerationResult[asked.Count];
        foreach (var (_, rows, options) in requests.Runs(asked))
        {
            var run = rows.Select(i => asked[i]).ToList();
            var generated = Generate(run, options, requests.Decode, onText: (b, piece) => run[b].OnText?.Invoke(piece));
            for (int j = 0; j < rows.Count; j++) results[rows[j]] = generated[j];
        }
        return AnswerRequests.Results(asked, results, clock.Elapsed.TotalSeconds);
    }

    // Everything llama.cpp will be given, checked before the first call: a request may come from another answerer.
    void Check(IReadOnlyList<AnswerRequest> asked)
    {
        if (asked.Count == 0) throw new ArgumentException("no questions to answer");
        if (asked.Count > sequences)
            throw new InvalidInputException($"{asked.Count} questions at once, but this llama.cpp engine was set up for at most {sequences}; " +
                "ask fewer at a time or set it up with more sequences (pic serve --max-batch)");
        foreach (var request in asked)
        {
            if (request.MaxNewTokens < 1) throw new InvalidInputException($"max new tokens must be at least 1, got {request.MaxNewTokens}");
            if (request.Prompt.Count == 0) throw new InvalidInputException("the prompt has no tokens");
            foreach (int id in request.Prompt)
                if (id < 0 || id >= vocab) throw new InvalidInputException($"token id {id} is not in the model's vocabulary of {vocab}");
            long input = request.Prompt.Count;
            if (request.Memory is { } memory)
            {
                if (compressor is null) throw new InvalidOperationException("this answerer was made without a compressor, so it cannot read memories");
                RequireFeedable(memory);
                if (request.MemoryRow < 0 || request.MemoryRow >= memory.Batch)
                    throw new InvalidInputException($"memory row {request.MemoryRow} does not exist (the memory has {memory.Batch})");
                input += memory.Counts[request.MemoryRow] + 1;
            }
            if (input + request.MaxNewTokens > ContextTokens) throw new PromptTooLongException(input, request.MaxNewTokens, ContextTokens);
        }
    }

    /// <summary>
    /// Continues every request at once with <paramref name="options"/> as they are (<see cref="Answer"/> gives the QA
    /// format's; a benchmark may give none, so every answer has its full length), as
    /// <see cref="MemoryDecoder.GenerateBatch"/> does on TorchSharp. Request b is llama.cpp sequence b, in its own
    /// (cleared) KV cache; result b belongs to it.
    /// </summary>
    /// <param name="decode">turns generated ids into text; needed for stop strings and text.</param>
    /// <param name="onToken">called with (request, token) as soon as a request's token is chosen.</param>
    /// <param name="onText">called with (request, piece of its text) as the text grows.</param>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<AnswerRequest> run, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int, int>? onToken = null, Action<int, string>? onText = null)
    {
        Check(run);
        options.Validate();
        if (options.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a decode function");
        context.NativeHandle.MemoryClear(true);
        var rows = run.Select(r => new GenerationRow(options, r.MaxNewTokens, r.Cancel,
            decode is null ? null : new StreamingDecoder(decode, options.StopStrings, options.TrimText))).ToArray();
        try
        {
            var positions = new int[run.Count];
            FeedMemories(run, positions);
            var logits = FeedPrompts(run, positions);
            int longest = run.Max(r => r.MaxNewTokens);
            var next = new int[run.Count];
            var batch = new LLamaBatch();
            for (int step = 0; ; step++)
            {
                for (int b = 0; b < rows.Length; b++)
                {
                    if (rows[b].Done) continue;
                    next[b] = Choose(logits[b], options, rows[b]);
                    rows[b].Accept(next[b], token => onToken?.Invoke(b, token), piece => onText?.Invoke(b, piece));
                }
                if (rows.All(r => r.Done) || step + 1 == longest) break;
                batch.Clear();
                var outputs = new int[rows.Length];
                for (int b = 0; b < rows.Length; b++)
                    if (!rows[b].Done) outputs[b] = batch.Add(next[b], positions[b]++, Sequence(b), true);
                Decode(batch);
                for (int b = 0; b < rows.Length; b++)
                    if (!rows[b].Done) logits[b] = context.NativeHandle.GetLogitsIth(outputs[b]).ToArray();
            }
            for (int b = 0; b < rows.Length; b++)
                if (rows[b].Finish() is { Length: > 0 } rest) onText?.Invoke(b, rest);
            return rows.Select(r => r.Result()).ToArray();
        }
        finally
        {
            foreach (var row in rows) row.Dispose();
        }
    }

    // [memory][task token] of every memory question as input embeddings from position 0, at most batchTokens vectors a
    // call. Only a prompt's last token needs logits, but each call asks for its last vector's, so none is without output.
    void FeedMemories(IReadOnlyList<AnswerRequest> run, int[] positions)
    {
        var batch = new LLamaBatchEmbeddings(hidden);
        int total = run.Sum(r => r.Memory is null ? 0 : r.Memory.Counts[r.MemoryRow] + 1), fed = 0;
        for (int b = 0; b < run.Count; b++)
        {
            if (run[b].Memory is not { } memory) continue;
            int count = memory.Counts[run[b].MemoryRow];
            float[] vectors;
            using (var _ = NewDisposeScope())
                // Rounded to the model's dtype first, as the TorchSharp decoder reads them.
                vectors = memory.Embeddings![run[b].MemoryRow, ..count].to(compressor!.Model.Dtype).to(ScalarType.Float32).contiguous().data<float>().ToArray();
            for (int i = 0; i <= count; i++)
            {
                var vector = i < count ? vectors.AsSpan(i * hidden, hidden) : taskVector;
                fed++;
                batch.Add(vector, positions[b]++, Sequence(b), logits: fed == total || batch.EmbeddingsCount + 1 == batchTokens);
                if (batch.EmbeddingsCount == batchTokens || fed == total)
                {
                    Decode(batch);
                    batch.Clear();
                }
            }
        }
    }

    // Every question's prompt ids after its memory (or alone); returns each sequence's logits after its last prompt token.
    float[][] FeedPrompts(IReadOnlyList<AnswerRequest> run, int[] positions)
    {
        var logits = new float[run.Count][];
        var batch = new LLamaBatch();
        var lastIn = new List<(int Sequence, int Index)>();
        void Flush()
        {
            Decode(batch);
            foreach (var (b, index) in lastIn) logits[b] = context.NativeHandle.GetLogitsIth(index).ToArray();
            batch.Clear();
            lastIn.Clear();
        }
        for (int b = 0; b < run.Count; b++)
            for (int i = 0; i < run[b].Prompt.Count; i++)
            {
                bool last = i == run[b].Prompt.Count - 1;
                int index = batch.Add(run[b].Prompt[i], positions[b]++, Sequence(b), last);
                if (last) lastIn.Add((b, index));
                if (batch.TokenCount == batchTokens) Flush();
            }
        if (batch.TokenCount > 0) Flush();
        return logits;
    }

    static LLamaSeqId Sequence(int b) => (LLamaSeqId)b;

    void Decode(LLamaBatch batch) => Require(context.Decode(batch));

    void Decode(LLamaBatchEmbeddings batch) => Require(context.Decode(batch));

    // Checked input fails here only if llama.cpp itself cannot go on (memory, an abort): not the user's input.
    static void Require(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp could not decode a checked batch: {result}");
    }

    // Greedy: the first largest logit, as torch's argmax; otherwise the TorchSharp sampler on the same logits and
    // generator. NaN or infinite logits mean broken weights, as on TorchSharp.
    static int Choose(float[] logits, GenerationOptions options, GenerationRow row)
    {
        int best = 0;
        bool nan = false;
        for (int i = 0; i < logits.Length; i++)
        {
            nan |= float.IsNaN(logits[i]);
            if (logits[i] > logits[best]) best = i;
        }
        if (nan || !float.IsFinite(logits[best]))
            throw new InvalidDataException("the model produced NaN or infinite logits: its weights or config values are broken");
        if (options.Temperature <= 0) return best;
        using var scope = NewDisposeScope();
        return TextGeneration.Choose(tensor(logits), options, row.Generator);
    }

    public void Dispose()
    {
        context.Dispose();
        weights.Dispose();
    }
}
