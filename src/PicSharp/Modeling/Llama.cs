using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Modeling;

/// <summary>Root-mean-square layer norm, computed in fp32 whatever the weight dtype (as HF Llama does).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    // Held for the module's life rather than made per call (see TorchScalars).
    readonly Scalar eps;

    public RmsNorm(int size, double eps, ScalarType dtype = ScalarType.Float32) : base(nameof(RmsNorm))
    {
        this.eps = eps.ToScalar();
        weight = new Parameter(ones(size, dtype));
        register_parameter("weight", weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Same arithmetic as x32 * rsqrt(mean(x32²) + eps), with the small statistics updated in place and no
        // conversions where the input is already fp32 (decoding runs this 2 × layers times per token).
        var x32 = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var inverseRms = x32.mul(x32).mean([-1], keepdim: true).add_(eps, TorchScalars.One).rsqrt_();
        var normed = x32 * inverseRms;
        return (weight * (x.dtype == ScalarType.Float32 ? normed : normed.to(x.dtype))).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) eps.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// Rotary position embedding with HF's rotate-half convention: dimension i is paired with i + head_dim/2.
/// Frequencies come from rope_theta, optionally rescaled the Llama 3 way. They are a non-persistent buffer (HF's
/// `inv_freq`): they follow the model to another device but stay out of state_dict and checkpoints, and they stay
/// fp32 when the weights are converted, as HF computes the angles in fp32.
/// </summary>
/// <remarks>
/// cos and sin of every position up to max_position_embeddings are tabulated once in fp32 (also non-persistent
/// buffers) and, per compute dtype, rounded once; a forward looks its positions up instead of recomputing them. The
/// sin table carries the sign of rotate-half (−sin on the first half), so applying the rotation needs no negation.
/// Positions past the table are computed directly.
/// </remarks>
public sealed class RotaryEmbedding : nn.Module
{
    // fp32 buffers, reassigned when the module moves.
    Tensor inv_freq;         // [head_dim / 2]
    Tensor cos_table;        // [max_positions, head_dim]
    Tensor signed_sin_table; // [max_positions, head_dim]
    readonly Dictionary<ScalarType, (Tensor Cos, Tensor Sin)> roundedTables = [];

    public RotaryEmbedding(LlamaConfig config) : base(nameof(RotaryEmbedding))
    {
        double[] inv = InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeScaling);
        inv_freq = tensor(inv.Select(v => (float)v).ToArray()).DetachFromDisposeScope();
        register_buffer(nameof(inv_freq), inv_freq, persistent: false);
        (cos_table, signed_sin_table) = Direct(TorchScalars.Range(0, config.MaxPositionEmbeddings));
        cos_table.DetachFromDisposeScope();
        signed_sin_table.DetachFromDisposeScope();
        register_buffer(nameof(cos_table), cos_table, persistent: false);
        register_buffer(nameof(signed_sin_table), signed_sin_table, persistent: false);
    }

    /// <summary>The inverse frequencies [head_dim / 2] (TorchSharp does not list non-persistent buffers in named_buffers).</summary>
    public Tensor InverseFrequencyBuffer => inv_freq;

    // Converting the model's weights must not round the frequencies; moving it to a device must move them. (Done
    // here: TorchSharp's generic move skips non-persistent buffers.)
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => this;
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => MoveTo(device, non_blocking);
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) =>
        MoveTo(new Device(deviceType, deviceIndex), non_blocking);

    RotaryEmbedding MoveTo(Device device, bool nonBlocking)
    {
        inv_freq = Replace(nameof(inv_freq), inv_freq, device, nonBlocking);
        cos_table = Replace(nameof(cos_table), cos_table, device, nonBlocking);
        signed_sin_table = Replace(nameof(signed_sin_table), signed_sin_table, device, nonBlocking);
        DisposeRoundedTables();
        return this;
    }

    Tensor Replace(string name, Tensor buffer, Device device, bool nonBlocking)
    {
        var moved = buffer.to(device, non_blocking: nonBlocking);
        if (ReferenceEquals(moved, buffer)) return buffer;
        moved.DetachFromDisposeScope();
        _internal_buffers.Remove(name);
        buffer.Dispose();
        register_buffer(name, moved, persistent: false);
        return moved;
    }

    public static double[] InverseFrequencies(int headDim, double theta, Llama3RopeScaling? scaling)
    {
        var inv = new double[headDim / 2];
        for (int i = 0; i < inv.Length; i++)
            inv[i] = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
        return scaling is null ? inv : inv.Select(f => Llama3Scale(f, scaling)).ToArray();
    }

    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between interpolated smoothly.
    static double Llama3Scale(double frequency, Llama3RopeScaling s)
    {
        double wavelength = 2 * Math.PI / frequency;
        double lowFreqWavelength = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelength = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        if (wavelength < highFreqWavelength) return frequency;
        if (wavelength > lowFreqWavelength) return frequency / s.Factor;
        double smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return (1 - smooth) * frequency / s.Factor + smooth * frequency;
    }

    // fp32 cos and signed sin [n, head_dim] of the given positions (any shape, flattened).
    (Tensor Cos, Tensor SignedSin) Direct(Tensor positions)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.flatten().to(ScalarType.Float32).unsqueeze(-1) * inv_freq;
        var sin = freqs.sin();
        return (cat([freqs, freqs], dim: -1).cos().MoveToOuterDisposeScope(), cat([-sin, sin], dim: -1).MoveToOuterDisposeScope());
    }

    long TableLength => cos_table.shape[0];

    (Tensor Cos, Tensor Sin) Tables(ScalarType dtype)
    {
        if (dtype == cos_table.dtype) return (cos_table, signed_sin_table);
        if (!roundedTables.TryGetValue(dtype, out var tables))
            roundedTables[dtype] = tables = (cos_table.to(dtype).DetachFromDisposeScope(), signed_sin_table.to(dtype).DetachFromDisposeScope());
        return tables;
    }

    /// <summary>cos and signed sin for positions start..start+seq of every row, each [1, 1, seq, head_dim].</summary>
    public (Tensor Cos, Tensor Sin) Angles(long start, long seq, ScalarType dtype)
    {
        if (start + seq > TableLength) return Angles(TorchScalars.Range(start, start + seq).unsqueeze(0), start + seq, dtype);
        var (cos, sin) = Tables(dtype);
        return (cos.narrow(0, start, seq).view(1, 1, seq, -1), sin.narrow(0, start, seq).view(1, 1, seq, -1));
    }

    /// <summary>cos and signed sin for position ids [batch, seq] below <paramref name="end"/>, each [batch, 1, seq, head_dim].</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positionIds, long end, ScalarType dtype)
    {
        long batch = positionIds.shape[0], seq = positionIds.shape[1];
        if (end > TableLength)
        {
            var (directCos, directSin) = Direct(positionIds);
            return (directCos.view(batch, 1, seq, -1).to(dtype), directSin.view(batch, 1, seq, -1).to(dtype));
        }
        var (cos, sin) = Tables(dtype);
        var flat = positionIds.flatten();
        return (cos.index_select(0, flat).view(batch, 1, seq, -1), sin.index_select(0, flat).view(batch, 1, seq, -1));
    }

    void DisposeRoundedTables()
    {
        foreach (var (cos, sin) in roundedTables.Values) { cos.Dispose(); sin.Dispose(); }
        roundedTables.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) DisposeRoundedTables();
        base.Dispose(disposing);
    }

    /// <summary>x·cos + rotate_half(x)·sin, where rotate_half(x) = [−x₂, x₁] is x rolled by half times the signed sin.</summary>
    public static Tensor Apply(Tensor x, (Tensor Cos, Tensor Sin) angles) =>
        (x * angles.Cos).add(x.roll(x.shape[^1] / 2, -1) * angles.Sin, TorchScalars.One);
}

/// <summary>
/// Grouped-query self-attention with an optional boolean mask (True = may attend) and KV cache; Qwen3 normalises
/// each head's queries and keys before RoPE.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    readonly Projection q_proj, k_proj, v_proj, o_proj;
    readonly RmsNorm? q_norm, k_norm;
    readonly int heads, kvHeads, headDim;

    public LlamaAttention(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base(nameof(LlamaAttention))
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        q_proj = new Projection(config.HiddenSize, heads * headDim, config.QkvBias, dtype);
        k_proj = new Projection(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype);
        v_proj = new Projection(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype);
        o_proj = new Projection(heads * headDim, config.HiddenSize, config.OutputBias, dtype);
        if (config.QkNorm)
        {
            q_norm = new RmsNorm(headDim, config.RmsNormEps, dtype);
            k_norm = new RmsNorm(headDim, config.RmsNormEps, dtype);
        }
        RegisterComponents();
    }

    public IEnumerable<(string Name, Projection Projection)> Projections =>
        [("q_proj", q_proj), ("k_proj", k_proj), ("v_proj", v_proj), ("o_proj", o_proj)];

    /// <param name="mask">null for plain causal attention, else boolean [batch or 1, 1, seq, past + seq].</param>
    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor? mask, KvCache? cache, int layer)
    {
        long batch = x.shape[0], seq = x.shape[1];
        var q = q_proj.forward(x).view(batch, seq, heads, headDim);
        var k = k_proj.forward(x).view(batch, seq, kvHeads, headDim);
        if (q_norm is not null && k_norm is not null) (q, k) = (q_norm.forward(q), k_norm.forward(k));
        q = q.transpose(1, 2);
        k = k.transpose(1, 2);
        var v = v_proj.forward(x).view(batch, seq, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, rope);
        k = RotaryEmbedding.Apply(k, rope);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        var attended = seq == 1 ? AttendOneQuery(q, k, v, mask) : Attend(q, k, v, mask);
        return o_proj.forward(attended);
    }

    // GQA: each K/V head serves heads/kvHeads consecutive query heads (HF's repeat_kv order).
    Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        long batch = q.shape[0], seq = q.shape[2];
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = mask is null
            ? F.scaled_dot_product_attention(q, k, v, is_casual: seq > 1)
            : F.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return attended.transpose(1, 2).reshape(batch, seq, heads * headDim);
    }

    // One query per row (a decoding step): the query heads that share a K/V head become that head's query rows, so
    // K/V are read in place instead of being repeated (the same sums as Attend, per query head).
    Tensor AttendOneQuery(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        long batch = q.shape[0];
        var grouped = q.reshape(batch, kvHeads, heads / kvHeads, headDim);
        var attended = mask is null
            ? F.scaled_dot_product_attention(grouped, k, v)
            : F.scaled_dot_product_attention(grouped, k, v, attn_mask: mask);
        return attended.reshape(batch, 1, heads * headDim);
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    readonly Projection gate_proj, up_proj, down_proj;

    public LlamaMlp(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base(nameof(LlamaMlp))
    {
        gate_proj = new Projection(config.HiddenSize, config.IntermediateSize, hasBias: false, dtype);
        up_proj = new Projection(config.HiddenSize, config.IntermediateSize, hasBias: false, dtype);
        down_proj = new Projection(config.IntermediateSize, config.HiddenSize, hasBias: false, dtype);
        RegisterComponents();
    }

    public IEnumerable<(string Name, Projection Projection)> Projections =>
        [("gate_proj", gate_proj), ("up_proj", up_proj), ("down_proj", down_proj)];

    public override Tensor forward(Tensor x) => down_proj.forward(F.silu(gate_proj.forward(x)) * up_proj.forward(x));
}

public sealed class LlamaDecoderLayer : nn.Module
{
    readonly RmsNorm input_layernorm, post_attention_layernorm;
    readonly LlamaAttention self_attn;
    readonly LlamaMlp mlp;

    public LlamaDecoderLayer(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base(nameof(LlamaDecoderLayer))
    {
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        self_attn = new LlamaAttention(config, dtype);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        mlp = new LlamaMlp(config, dtype);
        RegisterComponents();
    }

    public IEnumerable<(string Name, Projection Projection)> Projections =>
        self_attn.Projections.Select(p => ($"self_attn.{p.Name}", p.Projection))
            .Concat(mlp.Projections.Select(p => ($"mlp.{p.Name}", p.Projection)));

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor? mask, KvCache? cache, int layer)
    {
        x = x.add(self_attn.Forward(input_layernorm.forward(x), rope, mask, cache, layer), TorchScalars.One);
        return x.add(mlp.forward(post_attention_layernorm.forward(x)), TorchScalars.One);
    }
}

/// <summary>The transformer body (HF's `model.*`): token embeddings, decoder layers, final norm.</summary>
public sealed class LlamaModel : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaDecoderLayer> layers;
    readonly RmsNorm norm;

    public LlamaModel(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base(nameof(LlamaModel))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: dtype);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new LlamaDecoderLayer(config, dtype)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    public Embedding EmbedTokens => embed_tokens;
    public IReadOnlyList<LlamaDecoderLayer> Layers => [.. layers];

    public Tensor Forward(Tensor embeddings, (Tensor Cos, Tensor Sin) rope, Tensor? mask, KvCache? cache)
    {
        // A dispose scope per layer: a layer's temporaries (q, k, v, scores, MLP activations) are freed before the
        // next layer runs instead of all living until the forward ends (autograd keeps what backward needs).
        Tensor x = embeddings;
        for (int i = 0; i < layers.Count; i++)
        {
            Tensor next;
            using (var scope = NewDisposeScope())
                next = layers[i].Forward(x, rope, mask, cache, i).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, embeddings)) x.Dispose();
            x = next;
        }
        using var normScope = NewDisposeScope();
        var result = norm.forward(x).MoveToOuterDisposeScope();
        if (!ReferenceEquals(x, embeddings)) x.Dispose();
        return result;
    }
}

/// <summary>
/// A Llama-family causal LM (HF's LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM).
/// Parameter names equal the Hugging Face checkpoint names, so weights load by name.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    readonly LlamaModel model;
    readonly Projection? lm_head;
    readonly RotaryEmbedding rotary;

    public LlamaConfig Config { get; }

    /// <param name="dtype">dtype the parameters are created in (a checkpoint is loaded straight into its own dtype,
    /// never through an fp32 copy).</param>
    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new LlamaModel(config, dtype);
        if (!config.TieWordEmbeddings) lm_head = new Projection(config.HiddenSize, config.VocabSize, hasBias: false, dtype);
        rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    public LlamaModel Body => model;
    public RotaryEmbedding Rotary => rotary;
    public ScalarType Dtype => model.EmbedTokens.weight!.dtype;

    /// <summary>Every linear layer of the decoder stack, named by its path (for attaching LoRA).</summary>
    public IEnumerable<(string Path, Projection Projection)> Projections =>
        model.Layers.SelectMany((layer, i) => layer.Projections.Select(p => ($"model.layers.{i}.{p.Name}", p.Projection)));

    /// <summary>Normal(0, initializer_range) for matrices and embeddings, zero biases, unit norms (HF's init).</summary>
    public void InitializeWeights(long seed)
    {
        using var _ = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight")) parameter.fill_(TorchScalars.One);
            else if (name.EndsWith(".bias")) parameter.zero_();
            else parameter.normal_(0, Config.InitializerRange, generator);
        }
    }

    public Tensor Embed(Tensor inputIds) => model.EmbedTokens.forward(inputIds);

    /// <summary>
    /// Final hidden states [batch, seq, hidden] for token embeddings [batch, seq, hidden].
    /// </summary>
    /// <param name="positionIds">[batch or 1, seq]; default continues from the cache's next position (else 0).</param>
    /// <param name="mask">boolean, True = may attend; [seq, past+seq], [batch, seq, past+seq] or
    /// [batch, 1, seq, past+seq]. Default: causal over the cache and the new tokens.</param>
    /// <param name="cache">receives this call's keys/values; earlier contents act as a prefix.</param>
    public Tensor Forward(Tensor embeddings, Tensor? positionIds = null, Tensor? mask = null, KvCache? cache = null)
    {
        long start = cache?.NextPosition ?? 0;
        // Default positions are known here; explicit ones are read back once (for the rotary table and the cache).
        long end = positionIds is null ? start + embeddings.shape[1] : positionIds.max().item<long>() + 1;
        return Forward(embeddings, positionIds, end, mask, cache);
    }

    /// <param name="end">one past the largest position id (a caller that knows it spares the read-back).</param>
    internal Tensor Forward(Tensor embeddings, Tensor? positionIds, long end, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long seq = embeddings.shape[1];
        int past = cache?.Length ?? 0;
        if (Config.SlidingWindow is int window && past + seq > window)
            throw new ArgumentException($"{past + seq} tokens exceed the model's sliding_window of {window}: sliding-window attention " +
                "is not implemented here, so longer sequences are refused rather than attended in full");
        var rope = positionIds is null
            ? rotary.Angles(end - seq, seq, embeddings.dtype)
            : rotary.Angles(positionIds, end, embeddings.dtype);
        Tensor? fullMask = mask is null ? DefaultMask(seq, past) : AttentionMask.ToFourDimensions(mask);
        var hidden = model.Forward(embeddings, rope, fullMask, cache);
        if (cache is not null) cache.NextPosition = end;
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states for token ids [batch, seq].</summary>
    public Tensor ForwardTokens(Tensor inputIds, Tensor? positionIds = null, Tensor? mask = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        return Forward(Embed(inputIds), positionIds, mask, cache).MoveToOuterDisposeScope();
    }

    /// <summary>Vocabulary logits for hidden states.</summary>
    public Tensor Logits(Tensor hidden) =>
        lm_head is null ? F.linear(hidden, model.EmbedTokens.weight!) : lm_head.forward(hidden);

    // Plain causal attention needs no mask tensor unless a cached prefix offsets the diagonal.
    static Tensor? DefaultMask(long seq, int past) =>
        past == 0 || seq == 1 ? null : AttentionMask.Causal(seq, past).unsqueeze(0).unsqueeze(0);

    /// <summary>
    /// Runs the named LoRA adapter (null: none, the frozen base) in every projection that has it, until the returned
    /// scope is disposed; the previous selection then comes back. The selection belongs to the calling flow, so
    /// concurrent callers may select different adapters of one model.
    /// </summary>
    public IDisposable UseAdapter(string? name)
    {
        var previous = Projections.Select(p => (p.Projection, p.Projection.ActiveAdapter)).ToList();
        foreach (var (_, projection) in Projections) projection.ActiveAdapter = name;
        return new Restore(() => { foreach (var (projection, was) in previous) projection.ActiveAdapter = was; });
    }

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
