using PicSharp.Answering;
using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PicSharp.Compression;

/// <summary>One decoder example: the memory of a context, a task token, a prompt, and the tokens to predict.</summary>
public sealed record DecoderExample(TaskToken Task, IReadOnlyList<int> Prompt, IReadOnlyList<int> Target);

/// <summary>The decoder's mean loss over a batch's target tokens (a graph to backpropagate) and its teacher-forced
/// token accuracy: how many of the <paramref name="Tokens"/> targets were the most likely next token.</summary>
public sealed record DecoderLoss(Tensor Mean, long Correct, long Tokens) : IDisposable
{
    public double Accuracy => (double)Correct / Tokens;

    public void Dispose() => Mean.Dispose();
}

/// <summary>
/// The frozen decoder: the base model with adapters off, reading `[memory][task token][prompt][target]`. Memory is
/// either a run of input embeddings or, for the key-values kind, a KV prefix. Only target tokens are scored.
/// </summary>
public sealed class MemoryDecoder(Compressor compressor)
{
    // The label of a position that is not scored, held as a Scalar for the process's life (see TorchScalars).
    static readonly Scalar Ignore = (-100L).ToScalar();
    LlamaForCausalLM Model => compressor.Model;

    /// <summary>
    /// Mean cross-entropy over all target tokens of the batch, and how many targets are the argmax prediction.
    /// Example i reads memory row <paramref name="memoryRows"/>[i] (default: row i), so one memory can serve several
    /// examples (e.g. all questions about one context) without the caller copying it.
    /// </summary>
    public DecoderLoss Loss(CompressedMemory memory, IReadOnlyList<DecoderExample> examples, IReadOnlyList<int>? memoryRows = null)
    {
        var rows = memoryRows ?? Enumerable.Range(0, examples.Count).ToArray();
        if (memoryRows is null && memory.Batch != examples.Count)
            throw new ArgumentException($"{memory.Batch} memories but {examples.Count} examples (pass memoryRows to share a memory)");
        if (rows.Count != examples.Count) throw new ArgumentException($"{rows.Count} memory rows for {examples.Count} examples");
        foreach (int row in rows)
            if (row < 0 || row >= memory.Batch) throw new ArgumentException($"memory row {row} does not exist (the memory has {memory.Batch})");
        if (examples.Any(e => e.Target.Count == 0)) throw new ArgumentException("every example needs at least one target token");

        using var scope = NewDisposeScope();
        using var adapters = Model.UseAdapter(null);
        var (hidden, labels) = memory.Kind == MemoryKind.Embeddings
            ? ForwardEmbeddings(memory, examples, rows)
            : ForwardKeyValues(memory, examples, rows);
        var scored = labels.ne(Ignore);
        var logits = Model.Logits(hidden[scored]).to(ScalarType.Float32);
        var targets = labels[scored];
        long correct = logits.argmax(-1).eq(targets).sum().item<long>();
        return new DecoderLoss(F.cross_entropy(logits, targets).MoveToOuterDisposeScope(), correct, targets.shape[0]);
    }

    // Rows [memory][task][prompt][target], right-padded, plain causal attention.
    (Tensor Hidden, Tensor Labels) ForwardEmbeddings(CompressedMemory memory, IReadOnlyList<DecoderExample> examples, IReadOnlyList<int> memoryRows)
    {
        var rows = examples.Select((e, b) => cat([
            memory.Embeddings![memoryRows[b], ..memory.Counts[memoryRows[b]]].to(Model.Dtype),
            compressor.TaskEmbedding(e.Task).unsqueeze(0),
            TokenEmbeddings(e.Prompt.Concat(e.Target))], dim: 0)).ToList();
        int width = rows.Max(r => (int)r.shape[0]);
        var labels = full(examples.Count, width, Ignore, dtype: ScalarType.Int64);
        for (int b = 0; b < examples.Count; b++)
        {
            int firstTarget = memory.Counts[memoryRows[b]] + 1 + examples[b].Prompt.Count;
            labels[b, (firstTarget - 1)..(firstTarget - 1 + examples[b].Target.Count)] = TargetTensor(examples[b]);
        }
        var padded = stack(rows.Select(r => F.pad(r, [0, 0, 0, width - r.shape[0]])).ToList());
        return (Model.Forward(padded), labels);
    }

    // Rows [task][prompt][target] after a KV prefix whose padding is masked per row.
    (Tensor Hidden, Tensor Labels) ForwardKeyValues(CompressedMemory memory, IReadOnlyList<DecoderExample> examples, IReadOnlyList<int> memoryRows)
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
            mask[b, .., ..memory.Counts[memoryRows[b]]] = true;
        }
        var positions = tensor(memoryRows.Select(r => memory.NextPositions[r]).ToArray()).unsqueeze(1)
            .add(TorchScalars.Range(0, width).unsqueeze(0), TorchScalars.One);
        var padded = stack(rows.Select(r => F.pad(r, [0, 0, 0, width - r.shape[0]])).ToList());
        using var cache = KvCache.FromPrefix(memory.KeyValues.Select(kv => (PerExample(kv.Keys, memoryRows), PerExample(kv.Values, memoryRows))).ToList(), 0);
        return (Model.Forward(padded, positions, mask, cache), labels);
    }

    // The prefix rows the examples read: the memory itself when rows are 0..n-1, a broadcast view when all share one
    // row, a gather otherwise.
    Tensor PerExample(Tensor prefix, IReadOnlyList<int> memoryRows)
    {
        var rows = memoryRows.Distinct().ToList();
        Tensor picked = memoryRows.SequenceEqual(Enumerable.Range(0, (int)prefix.shape[0])) ? prefix
            : rows.Count == 1 ? prefix[rows[0]..(rows[0] + 1)].expand(memoryRows.Count, -1, -1, -1)
            : prefix.index_select(0, tensor(memoryRows.Select(r => (long)r).ToArray()));
        return picked.to(Model.Dtype);
    }

    Tensor TokenEmbeddings(IEnumerable<int> ids) => Model.Embed(tensor(ids.Select(i => (long)i).ToArray()));

    static Tensor TargetTensor(DecoderExample e) => tensor(e.Target.Select(i => (long)i).ToArray());

    /// <summary>Answers from one context's memory: generation continues after `[memory][task][prompt]`.</summary>
    public GenerationResult Generate(CompressedMemory memory, TaskToken task, IReadOnlyList<int> prompt, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null)
    {
        if (memory.Batch != 1) throw new ArgumentException("generate from one context's memory at a time (use memory.Row(b))");
        return GenerateBatch([new AnswerRequest(prompt, options.MaxNewTokens) { Memory = memory }], task, options, decode,
            onToken is null ? null : (_, token) => onToken(token))[0];
    }

    /// <summary>
    /// Answers several questions at once, each from its own memory row (one memory may serve several questions):
    /// the rows decode together as one batch, each stopping on its own at its own answer length. Result i answers
    /// question i.
    /// </summary>
    /// <param name="onToken">called with (question, token) as soon as a question's token is chosen.</param>
    /// <param name="onText">called with (question, piece of its text) as the text grows.</param>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<AnswerRequest> questions, TaskToken task, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int, int>? onToken = null, Action<int, string>? onText = null)
    {
        foreach (var q in questions)
        {
            if (q.Memory is null) throw new ArgumentException("a question for the memory decoder needs a memory");
            if (q.MemoryRow < 0 || q.MemoryRow >= q.Memory.Batch) throw new ArgumentException($"memory row {q.MemoryRow} does not exist (the memory has {q.Memory.Batch})");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var adapters = Model.UseAdapter(null);
        var taskEmbedding = compressor.TaskEmbedding(task).unsqueeze(0);
        var prompts = questions.Select(q =>
        {
            var memory = q.Memory!;
            int row = q.MemoryRow, count = memory.Counts[row];
            var question = cat([taskEmbedding, TokenEmbeddings(q.Prompt)], dim: 0);
            var prompt = memory.Kind == MemoryKind.Embeddings
                ? new GenerationPrompt(cat([memory.Embeddings![row, ..count].to(Model.Dtype), question], dim: 0))
                : new GenerationPrompt(question,
                    memory.KeyValues!.Select(kv => (kv.Keys[row..(row + 1), .., ..count], kv.Values[row..(row + 1), .., ..count])).ToList(),
                    memory.NextPositions[row]);
            return prompt with { MaxNewTokens = q.MaxNewTokens, Cancel = q.Cancel };
        }).ToList();
        return TextGeneration.GenerateBatch(Model, prompts, options, decode, onToken, onText);
    }
}
