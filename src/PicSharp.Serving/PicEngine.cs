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
    /// <summary>Longest context accepted: the model's position range, or a lower limit the caller chose.</summary>
    public int MaxContextTokens { get; }

    public PicEngine(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor compressor, int? maxContextTokens = null)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        if (maxContextTokens is < 1) throw new ArgumentException($"the context limit must be at least 1 token, got {maxContextTokens}");
        Model = model;
        Tokenizer = tokenizer;
        Compressor = compressor;
        Decoder = new MemoryDecoder(compressor);
        CompressorId = CompressorFolder.Fingerprint(compressor);
        BaseModelId = ModelFolder.Fingerprint(model);
        MaxContextTokens = Math.Min(maxContextTokens ?? int.MaxValue, model.Config.MaxPositionEmbeddings);
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
    public IReadOnlyList<int> Tokenize(string text) => Tokenizer.Encode(text);

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
        return Tokenizer.Encode(QaPrompt.Prompt(null, question));
    }

    /// <summary>Answers from a memory; <paramref name="onText"/> receives the answer's text as it grows.</summary>
    public AnswerResult AnswerFromMemory(CompressedMemory memory, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        var prompt = QuestionIds(question);
        // Decoder positions: embeddings start at 0, a key-values prefix continues from the compressor's positions.
        long first = memory.Kind == MemoryKind.Embeddings ? memory.Counts[0] : memory.NextPositions[0];
        CheckDecoderLength(first + 1 + prompt.Count, maxNewTokens);
        return Generate(prompt.Count, maxNewTokens, onText, cancel,
            (options, decode, onToken) => Decoder.Generate(memory, TaskToken.Answer, prompt, options, decode, onToken));
    }

    /// <summary>Answers with the whole context in the prompt (the frozen base model, no memory): the upper bound; with no context, the lower bound.</summary>
    public AnswerResult AnswerFromContext(string? context, string question, int maxNewTokens, Action<string>? onText = null, CancellationToken cancel = default)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new EmptyTextException("the question is empty");
        var prompt = Tokenizer.EncodeWithBos(QaPrompt.Prompt(context, question), Model.Config.BosTokenId);
        CheckDecoderLength(prompt.Count, maxNewTokens);
        return Generate(prompt.Count, maxNewTokens, onText, cancel, (options, decode, onToken) =>
        {
            using var scope = NewDisposeScope();
            using var adapters = Model.UseAdapter(null); // the frozen base model
            var embeddings = Model.Embed(tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0));
            return TextGeneration.Generate(Model, embeddings, options, decode: decode, onToken: onToken);
        });
    }

    void CheckDecoderLength(long inputPositions, int maxNewTokens)
    {
        if (maxNewTokens < 1) throw new ArgumentException($"max new tokens must be at least 1, got {maxNewTokens}");
        if (inputPositions + maxNewTokens > Model.Config.MaxPositionEmbeddings)
            throw new PromptTooLongException(inputPositions, maxNewTokens, Model.Config.MaxPositionEmbeddings);
    }

    delegate GenerationResult Generation(GenerationOptions options, Func<IReadOnlyList<int>, string> decode, Action<int> onToken);

    AnswerResult Generate(int promptTokens, int maxNewTokens, Action<string>? onText, CancellationToken cancel, Generation generate)
    {
        using var _ = no_grad();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = QaGeneration.Options(Tokenizer, Model.Config, maxNewTokens);
        string Decode(IReadOnlyList<int> ids) => QaGeneration.Decode(Tokenizer, ids);
        var text = new StreamingDecoder(Decode);
        var filter = new StopStringFilter(options.StopStrings);
        var result = generate(options, Decode, token =>
        {
            cancel.ThrowIfCancellationRequested();
            if (onText is not null && filter.Push(text.Push(token)) is { Length: > 0 } piece) onText(piece);
        });
        if (onText is not null && filter.Push(text.Flush()) + filter.Flush() is { Length: > 0 } rest) onText(rest);
        return new AnswerResult(QaGeneration.AnswerText(Tokenizer, result.Tokens), promptTokens, result.Tokens.Count, result.Reason, clock.Elapsed.TotalSeconds);
    }

    public void Dispose()
    {
        Compressor.Dispose();
        Model.Dispose();
    }
}
