using PicSharp.Answering;
using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

namespace PicSharp.Serving;

/// <summary>
/// The loaded compressor, its frozen decoder and the model's tokenizer: compress a context, extend a memory, and the
/// <see cref="Answerer"/> that answers questions from a memory or from text. Not thread-safe (one TorchSharp model runs one forward at a time):
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
    /// <summary>The one way questions become answers (<see cref="IAnswerer"/>): build requests, answer them in batches.</summary>
    public IAnswerer Answerer { get; }
    public string CompressorId { get; }
    public string BaseModelId { get; }
    /// <summary>Longest context accepted: the model's position range, or a lower limit the caller chose (a higher one is refused).</summary>
    public int MaxContextTokens { get; }

    /// <param name="answerer">the decoding engine (default: <see cref="Answerers.Torch"/>); an answerer that is
    /// <see cref="IDisposable"/> is disposed with the engine.</param>
    public PicEngine(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor compressor, int? maxContextTokens = null, AnswererFactory? answerer = null)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new InvalidInputException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        if (maxContextTokens is < 1) throw new InvalidInputException($"the context limit must be at least 1 token, got {maxContextTokens}");
        if (maxContextTokens > model.Config.MaxPositionEmbeddings)
            throw new InvalidInputException($"the context limit {maxContextTokens} is above the model's {model.Config.MaxPositionEmbeddings} positions " +
                $"(max_position_embeddings); use at most {model.Config.MaxPositionEmbeddings}, or leave it out for the model's limit");
        Model = model;
        Tokenizer = tokenizer;
        Compressor = compressor;
        Answerer = (answerer ?? Answerers.Torch)(model, tokenizer, compressor);
        CompressorId = CompressorFolder.Fingerprint(compressor);
        BaseModelId = ModelFolder.Fingerprint(model);
        MaxContextTokens = maxContextTokens ?? model.Config.MaxPositionEmbeddings;
    }

    /// <summary>Opens a model folder (with its tokenizer.json) and a compressor folder made for that model.</summary>
    public static PicEngine Open(string modelDir, string compressorDir, ScalarType? dtype = null, int? maxContextTokens = null, AnswererFactory? answerer = null)
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
            return new PicEngine(model, tokenizer, CompressorFolder.Load(model, compressorDir), maxContextTokens, answerer);
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

    public void Dispose()
    {
        (Answerer as IDisposable)?.Dispose();
        Compressor.Dispose();
        Model.Dispose();
    }
}
