using PicSharp.Modeling;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Compression;

/// <summary>One decoder example: the memory of a context, a task token, a prompt, and the tokens to predict.</summary>
public sealed record DecoderExample(TaskToken Task, IReadOnlyList<int> Prompt, IReadOnlyList<int> Target);

/// <summary>
/// The frozen decoder: the base model with adapters off, reading `[memory][task token][prompt][target]`. Memory is
/// either a run of input embeddings or, for the key-values kind, a KV prefix. Only target tokens are scored.
/// </summary>
public sealed class MemoryDecoder(Compressor compressor)
{
    const long Ignore = -100;
    LlamaForCausalLM Model => compressor.Model;

    /// <summary>Mean cross-entropy over all target tokens of the batch (row b of memory goes with example b).</summary>
    public Tensor Loss(CompressedMemory memory, IReadOnlyList<DecoderExample> examples)
    {
        if (memory.Batch != examples.Count)
            throw new ArgumentException($"{memory.Batch} memories but {examples.Count} examples");
        if (examples.Any(e => e.Target.Count == 0)) throw new ArgumentException("every example needs at least one target token");

        using var scope = NewDisposeScope();
        using var adapters = Model.UseAdapter(null);
        var (hidden, labels) = memory.Kind == MemoryKind.Embeddings
            ? ForwardEmbeddings(memory, examples)
            : ForwardKeyValues(memory, examples);
        var scored = labels.ne(Ignore);
        var logits = Model.Logits(hidden[scored]).to(ScalarType.Float32);
        return F.cross_entropy(logits, labels[scored]).MoveToOuterDisposeScope();
    }

    // Rows [memory][task][prompt][target], right-padded, plain causal attention.
    (Tensor Hidden, Tensor Labels) ForwardEmbeddings(CompressedMemory memory, IReadOnlyList<DecoderExample> examples)
    {
        var rows = examples.Select((e, b) => cat([
            memory.Embeddings![b, ..memory.Counts[b]].to(Model.Dtype),
            compressor.TaskEmbedding(e.Task).unsqueeze(0),
            TokenEmbeddings(e.Prompt.Concat(e.Target))], dim: 0)).ToList();
        int width = rows.Max(r => (int)r.shape[0]);
        var labels = full(examples.Count, width, Ignore, dtype: ScalarType.Int64);
        for (int b = 0; b < examples.Count; b++)
        {
            int firstTarget = memory.Counts[b] + 1 + examples[b].Prompt.Count;
            labels[b, (firstTarget - 1)..(firstTarget - 1 + examples[b].Target.Count)] = TargetTensor(examples[b]);
        }
        var padded = stack(rows.Select(r => F.pad(r, [0, 0, 0, width - r.shape[0]])).ToList());
        return (Model.Forward(padded), labels);
    }

    // Rows [task][prompt][target] after a KV prefix whose padding is masked per row.
    (Tensor Hidden, Tensor Labels) ForwardKeyValues(CompressedMemory memory, IReadOnlyList<DecoderExample> examples)
    {
        var rows = examples.Select(e => cat([
            compressor.TaskEmbedding(e.Task).unsqueeze(0), TokenEmbeddings(e.Prompt.Concat(e.Target))], dim: 0)).ToList();
        int width = rows.Max(r => (int)r.shape[0]);
        long prefix = memory.KeyValues![0].Keys.shape[2];
        var labels = full(examples.Count, width, Ignore, dtype: ScalarType.Int64);
        var mask = zeros(examples.Count, width, prefix + width, dtype: ScalarType.Bool);
        mask[.., .., (int)prefix..] = AttentionMask.Causal(width);
        for (int b = 0; b < examples.Count; b++)
        {
            int firstTarget = 1 + examples[b].Prompt.Count;
            labels[b, (firstTarget - 1)..(firstTarget - 1 + examples[b].Target.Count)] = TargetTensor(examples[b]);
            mask[b, .., ..memory.Counts[b]] = true;
        }
        var positions = tensor(memory.NextPositions.ToArray()).unsqueeze(1) + arange(width, dtype: ScalarType.Int64).unsqueeze(0);
        var padded = stack(rows.Select(r => F.pad(r, [0, 0, 0, width - r.shape[0]])).ToList());
        using var cache = KvCache.FromPrefix(memory.KeyValues.Select(kv => (kv.Keys.to(Model.Dtype), kv.Values.to(Model.Dtype))).ToList(), 0);
        return (Model.Forward(padded, positions, mask, cache), labels);
    }

    Tensor TokenEmbeddings(IEnumerable<int> ids) => Model.Embed(tensor(ids.Select(i => (long)i).ToArray()));

    static Tensor TargetTensor(DecoderExample e) => tensor(e.Target.Select(i => (long)i).ToArray());

    /// <summary>Answers from one context's memory: generation continues after `[memory][task][prompt]`.</summary>
    public GenerationResult Generate(CompressedMemory memory, TaskToken task, IReadOnlyList<int> prompt, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null)
    {
        if (memory.Batch != 1) throw new ArgumentException("generate from one context's memory at a time (use memory.Row(b))");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var adapters = Model.UseAdapter(null);
        var promptEmbeddings = cat([compressor.TaskEmbedding(task).unsqueeze(0), TokenEmbeddings(prompt)], dim: 0).unsqueeze(0);
        if (memory.Kind == MemoryKind.Embeddings)
            return TextGeneration.Generate(Model, cat([memory.Embeddings!.to(Model.Dtype), promptEmbeddings], dim: 1), options, decode: decode, onToken: onToken);

        using var cache = KvCache.FromPrefix(memory.KeyValues!.Select(kv => (kv.Keys.to(Model.Dtype), kv.Values.to(Model.Dtype))).ToList(), memory.NextPositions[0]);
        return TextGeneration.Generate(Model, promptEmbeddings, options, cache, decode, onToken);
    }
}
