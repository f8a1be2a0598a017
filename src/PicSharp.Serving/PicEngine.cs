using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Serving;

/// <summary>
/// The loaded compressor, its frozen decoder and the model's tokenizer: compress a context, extend a memory, answer a
/// question from a memory or from the full context. Not thread-safe (one TorchSharp model runs one forward at a time):
/// the service calls it only from its <see cref="ModelQueue"/>; the CLI calls it directly.
/// </summary>
public sealed class PicEngine : IDisposable
{
    // Memory is built this many chunks at a time under `pic`, so long inputs report progress and can be cancelled
    // between pieces; incremental compression makes the pieces add up to the memory of the whole context.
    const int ChunksPerPiece = 4;

    public LlamaForCausalLM Model { get; }
    public TextTokenizer Tokenizer { get; }
    public Compressor Compressor { get; }
    public MemoryDecoder Decoder { get; }
    public string CompressorId { get; }
    public string BaseModelId { get; }
    /// <summary>Longest context accepted: the model's position range, or a lower limit the caller chose (a higher one is refused).</summary>
    public int MaxContextTokens { get; }

    public PicEngine(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor compressor, int? maxContextTokens = null)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        if (maxContextTokens is < 1) throw new ArgumentException($"the context limit must be at least 1 token, got {maxContextTokens}");
        if (maxContextTokens > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"the context limit {maxContextTokens} is above the model's {model.Config.MaxPositionEmbeddings} positions " +
                $"(max_position_embeddings); use at most {model.Config.MaxPositionEmbeddings}, or leave it out for the model's limit");
        Model = model;
        Tokenizer = tokenizer;
        Compressor = compressor;
        Decoder = new MemoryDecoder(compressor);
        CompressorId = CompressorFolder.Fingerprint(compressor);
        BaseModelId = ModelFolder.Fingerprint(model);
        MaxContextTokens = maxContextTokens ?? model.Config.MaxPositionEmbeddings;
    }

    /// <summary>Opens a model folder (with its tokenizer.json) and a compressor folder made for that model.</summary>
    public static PicEngine Open(string modelDir, string compressorDir, ScalarType? dtype = null, int? maxContextTokens = null)
    {
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"model folder {modelDir} not found");
        if (!File.Exists(Path.Combine(compressorDir, CompressorFolder.OptionsFile)))
            throw new DirectoryNotFoundException($"{compressorDir} is not a compressor folder (no {CompressorFolder.OptionsFile}); make one with `pic train-compressor` or CompressorFolder.Save");
        string tokenizerPath = Path.Combine(modelDir, ModelFolder.TokenizerFile);
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"{modelDir} has no {ModelFolder.TokenizerFile}; the service needs the model's tokenizer", tokenizerPath);
        var tokenizer = TextTokenizer.Load(tokenizerPath);
        var model = ModelFolder.Load(modelDir, dtype);
        try
        {
            model.eval();
            return new PicEngine(model, tokenizer, CompressorFolder.Load(model, compressorDir), maxContextTokens);
        }
        catch { model.Dispose(); throw; }
    }

    public MemoryFileInfo MemoryInfo => new(CompressorId, BaseModelId, Compressor.Options.Kind, Compressor.Options.Policy,
        Compressor.Options.Ratio, Compressor.Options.ChunkLength);

    /// <summary>The context's token ids (no BOS: a memory summarises the text itself).</summary>
    public IReadOnlyList<int> Tokenize(string text) => Tokenizer.EncodeText(text);

    /// <summary>Fails with the numbers when a context of <paramref name="tokens"/> tokens cannot be compressed.</summary>
    public void CheckContextLength(int tokens)
    {
        if (tokens == 0) throw new EmptyTextException("the text has no tokens: there is nothing to compress");
        if (tokens > MaxContextTokens) throw new ContextTooLongException(tokens, MaxContextTokens);
    }

    /// <summary>Compresses one context; <paramref name="progress"/> gets (tokens done, tokens in all) after each piece.</summary>
    public CompressedMemory Compress(IReadOnlyList<int> context, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        CheckContextLength(context.Count);
        return Extend(null, context, progress, cancel);
    }

    /// <summary>
    /// The memory of <paramref name="fullContext"/>, which starts with the context <paramref name="memory"/> summarises:
    /// under `pic` only the new chunks are compressed. <paramref name="memory"/> stays the caller's to dispose.
    /// </summary>
    public CompressedMemory Extend(CompressedMemory? memory, IReadOnlyList<int> fullContext, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        CheckContextLength(fullContext.Count);
        using var _ = no_grad();
        int done = memory?.ContextLengths[0] ?? 0;
        progress?.Invoke(done, fullContext.Count);
        if (Compressor.Options.Policy != MaskPolicy.Pic)
        {
            if (memory is not null) throw new InvalidOperationException($"appending needs the 'pic' policy, this compressor uses '{Compressor.Options.Policy.Name()}'");
            var whole = Compressor.Compress([fullContext]);
            progress?.Invoke(fullContext.Count, fullContext.Count);
            return whole;
        }

        int piece = ChunksPerPiece * Compressor.Options.ChunkLength;
        CompressedMemory? current = null;
        try
        {
            while (done < fullContext.Count)
            {
                cancel.ThrowIfCancellationRequested();
                int end = Math.Min(fullContext.Count, (done / Compressor.Options.ChunkLength * Compressor.Options.ChunkLength) + piece);
                var prefix = fullContext.Take(end).ToList();
                var next = (current ?? memory) is { } previous ? Owned(() => Compressor.Extend(previous, prefix)) : Compressor.Compress([prefix]);
                current?.Dispose();
                current = next;
                done = end;
                progress?.Invoke(done, fullContext.Count);
            }
            return current ?? Owned(() => memory!.Prefix(memory.Counts[0], memory.NextPositions[0], memory.ContextLengths[0]));
        }
        catch { current?.Dispose(); throw; }
    }

    // Extend returns views of its input joined with new tensors; a copy owns its storage, so the input can go.
    static CompressedMemory Owned(Func<CompressedMemory> make)
    {
        using var scope = NewDisposeScope();
        var m = make();
        return new CompressedMemory(m.Kind, m.Embeddings?.clone().MoveToOuterDisposeScope(),
            m.KeyValues?.Select(kv => (kv.Keys.clone().MoveToOuterDisposeScope(), kv.Values.clone().MoveToOuterDisposeScope())).ToList(),
            m.Counts, m.NextPositions, m.ContextLengths);
    }

    /// <summary>The question's prompt ids in the QA format the decoder was trained on.</summary>
    public IReadOnlyList<int> QuestionIds(string question)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new EmptyTextException("the question is empty");
        return Tokenizer.EncodeText(QaPrompt.Prompt(null, question));
    }

    /// <summary>Answers from a memory; <paramref name="onText"/> receives the answer's text as it grows.</summary>
    public AnswerResult AnswerFromMemory(CompressedMemory memory, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        var answer = AnswerFromMemories([new MemoryAsk(memory, question, maxNewTokens) { OnText = onText, Cancel = cancel }])[0];
        cancel.ThrowIfCancellationRequested();
        return answer;
    }

    /// <summary>
    /// Answers several questions (on one memory or on different ones) as one decoding batch: each gets the tokens it
    /// would get alone, stops on its own, streams its own text, and a cancelled one stops with
    /// <see cref="StopReason.Cancelled"/> while the others go on. Result i answers question i.
    /// </summary>
    public IReadOnlyList<AnswerResult> AnswerFromMemories(IReadOnlyList<MemoryAsk> asks)
    {
        if (asks.Count == 0) throw new ArgumentException("no questions to answer");
        var questions = asks.Select(ask =>
        {
            if (ask.Memory.Batch != 1) throw new ArgumentException("each question reads one context's memory (use memory.Row(b))");
            var prompt = QuestionIds(ask.Question);
            CheckMemoryAnswerLength(ask.Memory.Kind, ask.Memory.Counts[0], ask.Memory.NextPositions[0], prompt.Count, ask.MaxNewTokens);
            return new MemoryQuestion(ask.Memory, 0, prompt) { MaxNewTokens = ask.MaxNewTokens, Cancel = ask.Cancel };
        }).ToList();
        return Generate(questions.Select((q, i) => (q.Prompt.Count, asks[i].OnText)).ToList(), asks.Max(a => a.MaxNewTokens),
            (options, decode, onToken) => Decoder.GenerateBatch(questions, TaskToken.Answer, options, decode, onToken));
    }

    /// <summary>Fails with the numbers when a question of <paramref name="promptTokens"/> tokens and its answer do not
    /// fit the decoder's positions after a memory of <paramref name="memoryTokens"/> tokens.</summary>
    public void CheckMemoryAnswerLength(MemoryKind kind, int memoryTokens, long nextPosition, int promptTokens, int maxNewTokens)
    {
        // Decoder positions: embeddings start at 0, a key-values prefix continues from the compressor's positions.
        long first = kind == MemoryKind.Embeddings ? memoryTokens : nextPosition;
        CheckDecoderLength(first + 1 + promptTokens, maxNewTokens);
    }

    /// <summary>Answers with the whole context in the prompt (the frozen base model, no memory): the upper bound; with no context, the lower bound.</summary>
    public AnswerResult AnswerFromContext(string? context, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new EmptyTextException("the question is empty");
        var prompt = Tokenizer.EncodeWithBos(QaPrompt.Prompt(context, question), Model.Config.BosTokenId);
        CheckDecoderLength(prompt.Count, maxNewTokens);
        var answer = Generate([(prompt.Count, onText)], maxNewTokens, (options, decode, onToken) =>
        {
            using var scope = NewDisposeScope();
            using var adapters = Model.UseAdapter(null); // the frozen base model
            var embeddings = Model.Embed(tensor(prompt.Select(i => (long)i).ToArray()));
            return TextGeneration.GenerateBatch(Model, [new GenerationPrompt(embeddings) { Cancel = cancel }], options, decode, onToken);
        })[0];
        cancel.ThrowIfCancellationRequested();
        return answer;
    }

    void CheckDecoderLength(long inputPositions, int maxNewTokens)
    {
        if (maxNewTokens < 1) throw new ArgumentException($"max new tokens must be at least 1, got {maxNewTokens}");
        if (inputPositions + maxNewTokens > Model.Config.MaxPositionEmbeddings)
            throw new PromptTooLongException(inputPositions, maxNewTokens, Model.Config.MaxPositionEmbeddings);
    }

    delegate IReadOnlyList<GenerationResult> Generation(GenerationOptions options, Func<IReadOnlyList<int>, string> decode, Action<int, int> onToken);

    // Each row streams through its own text decoder and stop-string filter (a row's text is its caller's alone).
    IReadOnlyList<AnswerResult> Generate(IReadOnlyList<(int PromptTokens, Action<string>? OnText)> rows, int maxNewTokens, Generation generate)
    {
        using var _ = no_grad();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = QaGeneration.Options(Tokenizer, Model.Config, maxNewTokens);
        string Decode(IReadOnlyList<int> ids) => QaGeneration.Decode(Tokenizer, ids);
        var texts = rows.Select(_ => new StreamingDecoder(Decode)).ToArray();
        var filters = rows.Select(_ => new StopStringFilter(options.StopStrings)).ToArray();
        var results = generate(options, Decode, (row, token) =>
        {
            if (rows[row].OnText is { } onText && filters[row].Push(texts[row].Push(token)) is { Length: > 0 } piece) onText(piece);
        });
        for (int row = 0; row < rows.Count; row++)
            if (rows[row].OnText is { } onText && results[row].Reason != StopReason.Cancelled
                && filters[row].Push(texts[row].Flush()) + filters[row].Flush() is { Length: > 0 } rest) onText(rest);
        double seconds = clock.Elapsed.TotalSeconds;
        return results.Select((result, row) => new AnswerResult(QaGeneration.AnswerText(Tokenizer, result.Tokens), rows[row].PromptTokens,
            result.Tokens.Count, result.Reason, seconds)).ToList();
    }

    public void Dispose()
    {
        Compressor.Dispose();
        Model.Dispose();
    }
}
