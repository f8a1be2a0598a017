using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Modeling;
using PicSharp.Storage;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Training;

/// <summary>
/// Memory episodes for a base model's own pretraining. A frozen LLM of billions of parameters brings the skill of
/// reading soft prompts; a small base trained here does not (a frozen picsharp-base answers almost nothing from memory
/// that reconstructs its passage), so its pretraining teaches it: in each episode the model, with learned memory
/// tokens (and, with an encoder rank, an adapter per arrangement), compresses a passage, and the model's weights read
/// that memory back to reconstruct the passage, continue it, or answer a question about it. All of the model's weights train through both passes. Each micro-batch
/// draws one arrangement (mask policy, memory kind, ratio; a ratio curriculum from low to high), so it compresses in
/// one pass; each arrangement has its own memory and task tokens. The compressors of the paper's experiment are
/// trained later on the frozen result, from scratch: nothing here is shared with them.
/// </summary>
public sealed class MemoryEpisodes : IDisposable
{
    /// <summary>The file in a checkpoint that holds every arrangement's memory and task tokens.</summary>
    public const string FileName = "memory_episodes.safetensors";
    // Keeps the episodes' random streams apart from the next-token sampler's, which uses the same seed and counters.
    const long Stream = 0x6D656D;

    readonly MemoryEpisodeOptions options;
    readonly long seed;
    readonly int[] corpus;
    readonly IReadOnlyList<CompressorExample> qa;
    readonly List<(string Name, Compressor Reader)> readers = [];

    /// <param name="model">the model that trains (its compute copy under bf16); the episodes run on it.</param>
    /// <param name="corpus">the token stream corpus windows are drawn from.</param>
    /// <param name="qa">question episodes: passage, question prompt and answer (empty: corpus episodes only).</param>
    public MemoryEpisodes(LlamaForCausalLM model, MemoryEpisodeOptions options, long seed, int[] corpus, IReadOnlyList<CompressorExample> qa)
    {
        options.Validate();
        if (corpus.Length < options.MaxWindow + options.ContinuationLength)
            throw new TrainingException($"the corpus has {corpus.Length} tokens, fewer than one memory window of {options.MaxWindow} + continuation of {options.ContinuationLength}");
        this.options = options;
        this.seed = seed;
        this.corpus = corpus;
        this.qa = qa.Where(e => e.Context.Count <= options.MaxQaContext).ToList();
        if (qa.Count > 0 && this.qa.Count == 0)
            throw new TrainingException($"none of the {qa.Count} QA episodes has a passage of at most {options.MaxQaContext} tokens");
        ulong index = 0;
        foreach (int ratio in options.Ratios.Order())
            foreach (var policy in new[] { MaskPolicy.Pic, MaskPolicy.Global })
                foreach (var kind in new[] { MemoryKind.Embeddings, MemoryKind.KeyValues })
                {
                    // Without an encoder rank, no LoRA target: the compressor is the model itself plus its memory and task tokens.
                    var compressorOptions = new CompressorOptions
                    {
                        Ratio = ratio, ChunkLength = options.ChunkLength, Policy = policy, Kind = kind, Positions = options.Positions,
                        Lora = options.EncoderLoraRank > 0
                            ? new LoraOptions { Rank = options.EncoderLoraRank, Alpha = 2 * options.EncoderLoraRank }
                            : new LoraOptions { TargetModules = [] },
                    };
                    readers.Add((Name(policy, kind, ratio), new Compressor(model, compressorOptions, (ulong)seed + index++)));
                }
        // A Compressor freezes the model it reads; here the model is what trains.
        foreach (var parameter in model.parameters()) parameter.requires_grad = true;
    }

    public static string Name(MaskPolicy policy, MemoryKind kind, int ratio) => $"{policy.Name()}-{KebabCase.Name(kind)}-{ratio}";

    /// <summary>Every arrangement's memory-token and task-token embeddings and encoder adapter (fp32 leaves).</summary>
    public IReadOnlyList<Parameter> Parameters => Named().Select(p => p.Parameter).ToList();

    // Each arrangement's trainable tensors under the names the episode file uses.
    IEnumerable<(string Name, string Arrangement, Parameter Parameter)> Named() =>
        readers.SelectMany(r => new[] { ($"{r.Name}.memory_tokens", r.Name, r.Reader.MemoryTokens), ($"{r.Name}.task_tokens", r.Name, r.Reader.TaskTokens) }
            .Concat(r.Reader.AdapterParameters().Select(a => ($"{r.Name}.encoder.{a.Name}", r.Name, a.Parameter))));

    /// <summary>QA episodes kept (passages short enough).</summary>
    public int QaEpisodes => qa.Count;

    /// <summary>Every arrangement's compressor.</summary>
    public IReadOnlyList<Compressor> Readers => readers.Select(r => r.Reader).ToList();

    public Compressor Reader(MaskPolicy policy, MemoryKind kind, int ratio) =>
        readers.First(r => r.Name == Name(policy, kind, ratio)).Reader;

    /// <summary>The episodes of one micro-step, a pure function of (seed, step, micro-step) so a resumed run draws the
    /// same ones: one arrangement for the micro-batch (and whether its memory is pooled embeddings rather than the
    /// model's compression), then each episode's passage and task.</summary>
    public (Compressor Reader, bool Pooled, IReadOnlyList<CompressorExample> Examples) Draw(int step, int micro)
    {
        var random = new CounterRandom(seed, step, micro, -1, Stream);
        var ratios = options.RatiosAt(step);
        int ratio = ratios[(int)random.NextLong(ratios.Count)];
        var policy = random.NextDouble() < options.GlobalShare ? MaskPolicy.Global : MaskPolicy.Pic;
        var kind = random.NextDouble() < options.KeyValuesShare ? MemoryKind.KeyValues : MemoryKind.Embeddings;
        // Drawn only when asked for, so runs without pooled memory keep their draws.
        bool pooled = options.PooledShare > 0 && random.NextDouble() < options.PooledShare;
        if (pooled) kind = MemoryKind.Embeddings;
        var examples = Enumerable.Range(0, options.EpisodesPerMicroBatch)
            .Select(row => Episode(new CounterRandom(seed, step, micro, row, Stream))).ToList();
        return (Reader(policy, kind, ratio), pooled, examples);
    }

    CompressorExample Episode(CounterRandom random)
    {
        if (qa.Count > 0 && random.NextDouble() < options.QaShare) return qa[(int)random.NextLong(qa.Count)];
        if (qa.Count > 0 && random.NextDouble() < options.PassageShare)
        {
            var passage = qa[(int)random.NextLong(qa.Count)].Context;
            return new CompressorExample(passage, new DecoderExample(TaskToken.Autoencode, [], passage));
        }
        bool continueText = random.NextDouble() < options.ContinueShare;
        int window = options.MinWindow + (int)random.NextLong(options.MaxWindow - options.MinWindow + 1);
        int start = (int)random.NextLong(corpus.Length - window - options.ContinuationLength + 1);
        var context = corpus[start..(start + window)];
        return continueText
            ? new CompressorExample(context, new DecoderExample(TaskToken.Continue, [], corpus[(start + window)..(start + window + options.ContinuationLength)]))
            : new CompressorExample(context, new DecoderExample(TaskToken.Autoencode, [], context));
    }

    /// <summary>
    /// The decoder's loss over one micro-step's episodes: compress, then read, through the same weights. Answering
    /// episodes and text episodes are averaged apart and weighted by how many episodes each has: a mean over all
    /// target tokens would give a three-token answer a hundredth of the weight of a reconstructed window, and
    /// answering from memory is the skill the episodes are for.
    /// </summary>
    public DecoderLoss Loss(int step, int micro)
    {
        var (reader, pooled, examples) = Draw(step, micro);
        var contexts = examples.Select(e => e.Context).ToList();
        using var memory = Memory(reader, pooled, contexts);
        var decoder = new MemoryDecoder(reader);
        Tensor? mean = null;
        long correct = 0, tokens = 0;
        foreach (var group in Enumerable.Range(0, examples.Count).GroupBy(i => examples[i].Decoder.Task == TaskToken.Answer))
        {
            var rows = group.ToList();
            // Left to the caller's dispose scope: the sum below keeps this part's graph.
            var part = decoder.Loss(memory, rows.Select(i => examples[i].Decoder).ToList(), rows);
            using var share = ((double)rows.Count / examples.Count).ToScalar();
            mean = mean is null ? part.Mean.mul(share) : mean.add(part.Mean, share);
            correct += part.Correct;
            tokens += part.Tokens;
        }
        return new DecoderLoss(mean!, correct, tokens);
    }

    /// <summary>
    /// How well the model reads its own memory at each ratio (`pic`, embeddings; key-values and pooled memory too when
    /// the episodes draw them), without gradients: token accuracy reconstructing held-out windows and held-out
    /// passages, and the gold answer's loss on held-out questions from the question's own passage's memory and, as the
    /// control, from the next question's passage's memory. The gap between the two losses is what the memory carries.
    /// </summary>
    public Dictionary<string, double> Probe(IReadOnlyList<int[]> windows, IReadOnlyList<CompressorExample> questions, int batchSize)
    {
        var values = new Dictionary<string, double>();
        var passages = questions.Select(q => q.Context).DistinctBy(c => string.Join(",", c)).Take(ProbePassages)
            .Select(c => new CompressorExample(c, new DecoderExample(TaskToken.Autoencode, [], c))).ToList();
        foreach (int ratio in options.Ratios.Order())
        {
            var readers = new List<(string Prefix, Compressor Reader, bool Pooled)> { ($"mem{ratio}", Reader(MaskPolicy.Pic, MemoryKind.Embeddings, ratio), false) };
            if (options.KeyValuesShare > 0) readers.Add(($"mem{ratio}_kv", Reader(MaskPolicy.Pic, MemoryKind.KeyValues, ratio), false));
            if (options.PooledShare > 0) readers.Add(($"mem{ratio}_pooled", readers[0].Reader, true));
            foreach (var (prefix, reader, pooled) in readers)
            {
                var decoder = new MemoryDecoder(reader);
                // At least two examples a batch: shifted, a batch of one would read its own memory.
                DecoderScore Read(IReadOnlyList<CompressorExample> examples, bool shift) =>
                    DecoderScore.Over(decoder, examples, Math.Max(2, batchSize), contexts => Memory(reader, pooled, contexts), shift);
                if (windows.Count > 0)
                {
                    var score = Read(windows.Select(w => new CompressorExample(w, new DecoderExample(TaskToken.Autoencode, [], w))).ToList(), shift: false);
                    values[$"{prefix}_ae_acc"] = score.Accuracy;
                    values[$"{prefix}_ae_loss"] = score.Loss;
                }
                if (questions.Count > 1)
                {
                    var own = Read(questions, shift: false);
                    var other = Read(questions, shift: true);
                    values[$"{prefix}_qa_loss"] = own.Loss;
                    values[$"{prefix}_qa_acc"] = own.Accuracy;
                    values[$"{prefix}_qa_other_loss"] = other.Loss;
                    values[$"{prefix}_passage_acc"] = Read(passages, shift: false).Accuracy;
                }
            }
        }
        return values;
    }

    // The memory an episode reads: pooled token embeddings in the reader's layout, or the reader's compression.
    static CompressedMemory Memory(Compressor reader, bool pooled, IReadOnlyList<IReadOnlyList<int>> contexts) =>
        pooled ? PooledMemory.Of(reader, contexts) : reader.Compress(contexts);

    // Held-out passages the probe reconstructs (those of the first probe questions).
    const int ProbePassages = 16;

    public void Save(string dir) =>
        SafeTensorsFile.Save(Path.Combine(dir, FileName), Named().ToDictionary(p => p.Name, p => (Tensor)p.Parameter));

    /// <summary>Restores the tensors <see cref="Save"/> wrote. A checkpoint must hold every arrangement with its
    /// shapes; a start (<paramref name="start"/>: a model folder a new run begins from) may lack arrangements the new run
    /// adds, or their encoder adapters, which keep their fresh values. Returns the names of the arrangements restored.</summary>
    public IReadOnlyList<string> Load(string dir, bool start = false)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new TrainingException($"{path} is missing: the checkpoint holds no memory episode tokens");
        var saved = SafeTensorsFile.Load(path);
        try
        {
            using var _ = no_grad();
            var present = Named().Where(p => !start || saved.ContainsKey(p.Name)).ToList();
            foreach (var (name, _, parameter) in present)
            {
                if (!saved.TryGetValue(name, out var value))
                    throw new TrainingException($"{path} has no {name}: it was written for other memory episode options");
                if (!value.shape.SequenceEqual(parameter.shape))
                    throw new TrainingException($"{path}: {name} has shape [{string.Join(", ", value.shape)}], expected [{string.Join(", ", parameter.shape)}]");
                parameter.copy_(value);
            }
            return present.Select(p => p.Arrangement).Distinct().ToList();
        }
        finally { foreach (var t in saved.Values) t.Dispose(); }
    }

    /// <summary>Writes the `pic` and `global` embeddings arrangements as compressor folders (the model itself as
    /// compressor, with its encoder adapter if it has one), so the evaluation commands can measure what the base reads
    /// from its own memory.</summary>
    public void ExportCompressors(string dir, string baseModelNameOrPath)
    {
        foreach (int ratio in options.Ratios)
            foreach (var policy in new[] { MaskPolicy.Pic, MaskPolicy.Global })
                CompressorFolder.Save(Reader(policy, MemoryKind.Embeddings, ratio), Path.Combine(dir, Name(policy, MemoryKind.Embeddings, ratio)), baseModelNameOrPath);
    }

    public void Dispose()
    {
        foreach (var (_, reader) in readers) reader.Dispose();
    }
}
