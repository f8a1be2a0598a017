using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Tokenization;
using PicSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = PicSharp.Training.AdamW;

namespace PicSharp.CompressorTraining;

/// <summary>What the decoder read from memory vectors fitted to each passage, with no compressor in the way.</summary>
/// <param name="StartReconstruction">teacher-forced reconstruction of the passages from the starting vectors (each the
/// mean of its tokens' embeddings).</param>
/// <param name="Reconstruction">the same after fitting.</param>
/// <param name="FromMemory">greedy answers to the passages' questions, each read from its own passage's fitted memory.</param>
/// <param name="FromOtherMemory">the control: each question read from the next passage's fitted memory.</param>
public sealed record OptimisedMemoryResult(int Ratio, int Passages, int Steps, DecoderScore StartReconstruction, DecoderScore Reconstruction,
    SquadScore FromMemory, SquadScore FromOtherMemory);

/// <summary>
/// Separates the decoder's limit from the encoder's: for each passage, one memory vector per `ratio` tokens is fitted
/// directly (Adam on the vectors, the decoder frozen) so that the decoder reconstructs the passage from it; then the
/// passage's questions are answered from that memory. If fitted vectors are not read, no compressor's will be (the
/// decoder is the bottleneck); if they are and a compressor's memory is not, the compressor is. The fitted memory is
/// also the ceiling line of every ratio plot.
/// </summary>
public static class OptimisedMemory
{
    public static OptimisedMemoryResult Measure(Compressor reader, TextTokenizer tokenizer, IReadOnlyList<SquadExample> examples,
        int ratio, int steps, double learningRate, int batchSize, Action<string>? progress = null)
    {
        if (ratio < 1) throw new InvalidInputException($"ratio must be at least 1, got {ratio}");
        if (steps < 0) throw new InvalidInputException($"steps must be ≥ 0, got {steps}");
        if (learningRate <= 0) throw new InvalidInputException($"learning rate must be positive, got {learningRate}");
        if (batchSize < 1) throw new InvalidInputException($"batch size must be at least 1, got {batchSize}");
        var passages = examples.Where(e => e.Answers.Count > 0).GroupBy(e => e.Context).ToList();
        if (passages.Count < 2) throw new InvalidInputException($"need at least two passages with answered questions (the control reads another passage's memory), got {passages.Count}");

        var decoder = new MemoryDecoder(reader);
        var fitted = new List<Tensor>(); // one [count, hidden] memory per passage, detached
        double startLoss = 0, endLoss = 0;
        long startCorrect = 0, endCorrect = 0, scored = 0;
        try
        {
            foreach (var batch in passages.Chunk(batchSize))
            {
                var ids = batch.Select(p => MemoryAnswerer.ContextIds(tokenizer, p.Key)).ToList();
                var (memories, start, end) = Fit(reader, decoder, ids, ratio, steps, learningRate);
                fitted.AddRange(memories);
                startLoss += start.Loss * start.Tokens; startCorrect += (long)Math.Round(start.Accuracy * start.Tokens);
                endLoss += end.Loss * end.Tokens; endCorrect += (long)Math.Round(end.Accuracy * end.Tokens);
                scored += end.Tokens;
                progress?.Invoke($"{ratio}x: fitted {fitted.Count}/{passages.Count} passages (reconstruction accuracy {start.Accuracy:F3} -> {end.Accuracy:F3})");
            }

            var options = QaGeneration.Options(tokenizer, reader.Model.Config);
            (string, IReadOnlyList<string>) Answer(SquadExample question, Tensor memory)
            {
                using var read = new CompressedMemory(MemoryKind.Embeddings, memory.unsqueeze(0), null, [(int)memory.shape[0]], [memory.shape[0]], [0]);
                var result = decoder.Generate(read, TaskToken.Answer, MemoryAnswerer.PromptIds(tokenizer, question.Question), options,
                    decode: tokens => QaGeneration.Decode(tokenizer, tokens));
                return (result.Text!, question.Answers.Select(a => a.Text).ToList());
            }
            var own = passages.SelectMany((p, i) => p.Select(q => Answer(q, fitted[i]))).ToList();
            var other = passages.SelectMany((p, i) => p.Select(q => Answer(q, fitted[(i + 1) % passages.Count]))).ToList();
            return new OptimisedMemoryResult(ratio, passages.Count, steps,
                new DecoderScore(startLoss / scored, (double)startCorrect / scored, scored),
                new DecoderScore(endLoss / scored, (double)endCorrect / scored, scored),
                SquadMetrics.Score(own), SquadMetrics.Score(other));
        }
        finally { foreach (var memory in fitted) memory.Dispose(); }
    }

    /// <summary>Fits one memory per passage of a batch: starts each vector at the mean embedding of its `ratio`
    /// tokens, then minimises the frozen decoder's reconstruction loss with Adam. Returns the detached memories and the
    /// reconstruction before and after.</summary>
    static (IReadOnlyList<Tensor> Memories, DecoderScore Start, DecoderScore End) Fit(Compressor reader, MemoryDecoder decoder,
        IReadOnlyList<IReadOnlyList<int>> passages, int ratio, int steps, double learningRate)
    {
        var model = reader.Model;
        var counts = passages.Select(p => (p.Count + ratio - 1) / ratio).ToArray();
        var examples = passages.Select(p => new DecoderExample(TaskToken.Autoencode, [], p)).ToList();
        Parameter vectors;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var rows = passages.Select((p, b) =>
            {
                var embedded = model.Embed(tensor(p.Select(t => (long)t).ToArray())).to(ScalarType.Float32);
                var groups = Enumerable.Range(0, counts[b]).Select(j => embedded[(j * ratio)..Math.Min(p.Count, (j + 1) * ratio)].mean([0])).ToList();
                return nn.functional.pad(stack(groups), [0, 0, 0, counts.Max() - counts[b]]);
            }).ToList();
            vectors = new Parameter(stack(rows).MoveToOuterDisposeScope());
        }
        using var optimizer = new AdamW([new AdamWGroup([vectors], learningRate, 0)], 0.9, 0.999);
        DecoderScore Score(DecoderLoss loss) => new(loss.Mean.item<float>(), loss.Accuracy, loss.Tokens);
        DecoderLoss Loss()
        {
            using var memory = new CompressedMemory(MemoryKind.Embeddings, vectors.alias(), null, counts,
                counts.Select(c => (long)c).ToArray(), passages.Select(p => p.Count).ToArray());
            return decoder.Loss(memory, examples);
        }

        DecoderScore start = default!, end;
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            using var loss = Loss();
            if (step == 0) start = Score(loss);
            loss.Mean.backward();
            optimizer.Step();
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var loss = Loss();
            end = Score(loss);
            if (steps == 0) start = end;
        }
        var memories = counts.Select((c, b) => vectors[b, ..c].detach().clone().DetachFromDisposeScope()).ToList();
        vectors.Dispose();
        return (memories, start, end);
    }
}
