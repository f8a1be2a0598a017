using PicSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>The decoder's task tokens: trainable embeddings outside the vocabulary.</summary>
public enum TaskToken { Autoencode = 0, Continue = 1, Answer = 2 }

/// <summary>
/// The compressor: a base model run with this compressor's LoRA adapter, plus `ChunkLength / Ratio` learned
/// memory-token embeddings that every chunk reuses. It reads contexts and returns one memory embedding (or per-layer
/// K/V) per `Ratio` context tokens. The same model object, with no adapter selected, is the frozen decoder.
/// </summary>
/// <remarks>
/// The compressor references the base model and does not own it: its parameters, state_dict, <c>to(…)</c> and
/// <c>Dispose()</c> cover only what it adds (memory and task tokens, and its LoRA matrices under PEFT's names
/// `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`). Its adapter is attached to the model's
/// projections under <see cref="AdapterName"/> and detached on Dispose, so several compressors can share one loaded
/// model. The one lasting change to the model is deliberate: its weights are frozen (requires_grad = false), because
/// PIC trains only adapters and tokens, and a frozen base spares backward the base's weight gradients (as large as
/// the model itself). Unfreeze them yourself if you later train the base.
/// </remarks>
public sealed class Compressor : nn.Module
{
    /// <summary>Prefix of the adapter parameters' names: PEFT's wrapper (base_model) around the causal LM (model).</summary>
    public const string AdapterPrefix = "base_model.model.";

    static int instances;

    readonly Parameter memory_tokens; // [slots, hidden], fp32
    readonly Parameter task_tokens;   // [3, hidden], fp32
    readonly List<(string Path, Projection Projection, LoraAdapter Adapter)> adapters = [];

    public LlamaForCausalLM Model { get; }
    public CompressorOptions Options { get; }
    /// <summary>The name this compressor's adapter has in the model's projections (unique in the process).</summary>
    public string AdapterName { get; }
    public Parameter MemoryTokens => memory_tokens;
    public Parameter TaskTokens => task_tokens;

    /// <param name="memoryInit">how new memory and task tokens start; a loaded compressor overwrites them anyway.</param>
    public Compressor(LlamaForCausalLM model, CompressorOptions options, ulong seed = 0, MemoryInit memoryInit = MemoryInit.Random) : base(nameof(Compressor))
    {
        options.Validate();
        // A chunk and its memory tokens run as one sequence: past the model's positions RoPE would extrapolate.
        int positions = options.ChunkLength + options.MemorySlots, available = model.Config.MaxPositionEmbeddings;
        if (positions > available)
            throw new InvalidInputException($"chunk length {options.ChunkLength} and its {options.MemorySlots} memory tokens need {positions} positions, " +
                $"but the model has {available} (max_position_embeddings); use a chunk length of at most {available * options.Ratio / (options.Ratio + 1) / options.Ratio * options.Ratio}");
        Model = model;
        Options = options;
        AdapterName = $"pic-{Interlocked.Increment(ref instances)}";
        using var generator = new Generator(seed);
        adapters.AddRange(NewAdapters(model, options.Lora, generator));

        // New embeddings start at the scale of the vocabulary's, so the frozen decoder sees familiar magnitudes.
        memory_tokens = new Parameter(InitialEmbeddings(model, options.MemorySlots, memoryInit, generator));
        task_tokens = new Parameter(InitialEmbeddings(model, Enum.GetValues<TaskToken>().Length, memoryInit, generator));
        // Registered by hand: RegisterComponents would also register the model behind the Model property.
        register_parameter(nameof(memory_tokens), memory_tokens);
        register_parameter(nameof(task_tokens), task_tokens);
        register_module("base_model", AdapterTree.Of(adapters.Select(a => ("model." + a.Path, a.Adapter))));

        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        foreach (var (_, projection, adapter) in adapters) projection.AttachAdapter(AdapterName, adapter);
    }

    static IEnumerable<(string Path, Projection Projection, LoraAdapter Adapter)> NewAdapters(LlamaForCausalLM model, LoraOptions lora, Generator generator) =>
        model.Projections.Where(p => lora.TargetModules.Contains(p.Path[(p.Path.LastIndexOf('.') + 1)..]))
            .Select(p => (p.Path, p.Projection, new LoraAdapter(p.Projection.InFeatures, p.Projection.OutFeatures, lora.Rank, lora.Alpha, lora.Dropout, generator)))
            .ToList(); // drawn now, in the model's order, so the generator's sequence is fixed

    static Tensor InitialEmbeddings(LlamaForCausalLM model, long rows, MemoryInit init, Generator generator)
    {
        using var scope = NewDisposeScope();
        // Detached: the base is not frozen yet here, and a start computed from its weight would be a node of its
        // graph rather than a leaf, so it would never receive a gradient.
        var vocabulary = model.Body.EmbedTokens.weight!.detach().to(ScalarType.Float32);
        double scale = vocabulary.std().item<float>();
        var noise = randn(rows, model.Config.HiddenSize, generator: generator);
        using var randomScale = scale.ToScalar();
        using var offsetScale = (0.1 * scale).ToScalar();
        var start = init switch
        {
            MemoryInit.Random => noise.mul(randomScale),
            MemoryInit.VocabMean => vocabulary.mean([0]).unsqueeze(0).add(noise.mul(offsetScale), TorchScalars.One),
            _ => throw new ArgumentOutOfRangeException(nameof(init), init, "unknown memory init"),
        };
        return start.MoveToOuterDisposeScope();
    }

    /// <summary>This compressor's LoRA parameters by model path (`model.layers.0.self_attn.q_proj.lora_A.weight`).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> AdapterParameters() =>
        named_parameters().Where(p => p.name.StartsWith(AdapterPrefix)).Select(p => (p.name[AdapterPrefix.Length..], p.parameter));

    /// <summary>Everything that trains: memory-token and task-token embeddings, LoRA matrices.</summary>
    public IReadOnlyList<Parameter> TrainableParameters() => [memory_tokens, task_tokens, .. AdapterParameters().Select(p => p.Parameter)];

    public Tensor TaskEmbedding(TaskToken task) => task_tokens[(int)task].to(Model.Dtype);

    public MemoryLayout Layout(int contextLength) => Options.Layout(contextLength);

    /// <summary>Compresses a batch of token sequences (any lengths) into memory.</summary>
    public CompressedMemory Compress(IReadOnlyList<IReadOnlyList<int>> contexts) =>
        Compress(contexts, new long[contexts.Count]);

    /// <param name="positionOffsets">where each context starts in its document (incremental compression).</param>
    CompressedMemory Compress(IReadOnlyList<IReadOnlyList<int>> contexts, IReadOnlyList<long> positionOffsets)
    {
        if (contexts.Count == 0) throw new ArgumentException("no contexts to compress");
        for (int b = 0; b < contexts.Count; b++)
            if (contexts[b].Count == 0) throw new ArgumentException($"context {b} is empty: there is nothing to compress");

        using var scope = NewDisposeScope();
        var layouts = contexts.Select(c => Layout(c.Count)).ToList();
        var rows = (Options.FastPath, Options.Policy) switch
        {
            (true, MaskPolicy.Pic) => CompressorRows.OnePerChunk(layouts),
            (true, MaskPolicy.Global) => CompressorRows.OneCausalPerContext(layouts),
            _ => CompressorRows.OnePerContext(layouts, Options.Policy),
        };

        var (tokenIds, slots) = rows.Inputs(contexts);
        var embeddings = where(slots.ge(TorchScalars.Zero).unsqueeze(-1),
            memory_tokens.index_select(0, slots.clamp_min(TorchScalars.Zero).flatten()).reshape(slots.shape[0], slots.shape[1], -1).to(Model.Dtype),
            Model.Embed(tokenIds));
        var positions = rows.Positions().add(tensor(rows.RowContexts.Select(b => positionOffsets[b]).ToArray()).unsqueeze(1), TorchScalars.One);

        using var adapter = Model.UseAdapter(AdapterName);
        using var cache = Options.Kind == MemoryKind.KeyValues ? new KvCache(Model.Config.NumHiddenLayers) : null;
        var hidden = Model.Forward(embeddings, positions, rows.Mask, cache);

        var counts = layouts.Select(l => l.MemoryCount).ToArray();
        var next = layouts.Select((l, b) => positionOffsets[b] + l.Sequence.Max(s => s.Position) + 1).ToArray();
        var lengths = contexts.Select(c => c.Count).ToArray();
        var gather = rows.MemoryGather(counts.Max());
        if (Options.Kind == MemoryKind.Embeddings)
            return new CompressedMemory(MemoryKind.Embeddings, gather.Apply(hidden).MoveToOuterDisposeScope(), null, counts, next, lengths);

        var keyValues = Enumerable.Range(0, cache!.Layers).Select(layer => (
            gather.ApplyHeads(cache.Keys(layer)).MoveToOuterDisposeScope(),
            gather.ApplyHeads(cache.Values(layer)).MoveToOuterDisposeScope())).ToList();
        return new CompressedMemory(MemoryKind.KeyValues, null, keyValues, counts, next, lengths);
    }

    /// <summary>
    /// Incremental compression under `pic`: keeps the memory blocks of the old context's complete chunks bit for bit
    /// and compresses only the rest of <paramref name="fullContext"/> (the old partial chunk and the new text).
    /// The caller guarantees that fullContext starts with the context the memory was made from. The result is new
    /// tensors; <paramref name="memory"/> stays the caller's.
    /// </summary>
    public CompressedMemory Extend(CompressedMemory memory, IReadOnlyList<int> fullContext)
    {
        if (Options.Policy != MaskPolicy.Pic)
            throw new InvalidOperationException($"incremental compression needs the 'pic' policy, this compressor uses '{Options.Policy.Name()}'");
        if (memory.Batch != 1) throw new ArgumentException("extend one context at a time");
        int oldLength = memory.ContextLengths[0];
        if (fullContext.Count < oldLength)
            throw new ArgumentException($"the extended context ({fullContext.Count} tokens) is shorter than the compressed one ({oldLength})");
        int keptChunks = oldLength / Options.ChunkLength;
        int keptTokens = keptChunks * Options.ChunkLength;
        if (keptTokens == fullContext.Count) return memory.Prefix(memory.Counts[0], memory.NextPositions[0], oldLength);

        var rest = Compress([fullContext.Skip(keptTokens).ToList()], [keptTokens]);
        if (keptChunks == 0) return rest;
        using (rest)
        using (var kept = memory.Prefix(keptChunks * Options.MemorySlots, keptTokens, keptTokens))
            return CompressedMemory.Concatenate(kept, rest);
    }

    /// <summary>Detaches this compressor's adapter from the model and frees what the compressor owns; the model stays usable.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var (_, projection, _) in adapters) projection.DetachAdapter(AdapterName);
        base.Dispose(disposing);
    }
}
