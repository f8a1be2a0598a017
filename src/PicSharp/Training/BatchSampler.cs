namespace PicSharp.Training;

/// <summary>One micro-batch: inputs and next-token targets, each [BatchSize, SequenceLength] row-major.</summary>
/// <remarks>Targets equal to <see cref="BatchSampler.IgnoreIndex"/> are padding and carry no loss.</remarks>
public sealed record MicroBatch(long[] Inputs, long[] Targets, int BatchSize, int SequenceLength)
{
    public int TargetTokens => Targets.Count(t => t != BatchSampler.IgnoreIndex);
}

/// <summary>
/// Draws training sequences from a <see cref="TokenizedMix"/>. Each row is, with probability QaShare, whole QA examples
/// packed back to back (never cut; the tail padded), else a random window of the corpus stream. Every draw is a pure
/// function of (seed, step, micro-step, row), so a resumed run sees exactly the batches it would have seen.
/// </summary>
public sealed class BatchSampler
{
    public const long IgnoreIndex = -100;
    // After this many QA examples in a row that do not fit the remaining space, the row is padded.
    const int PackingAttempts = 4;

    readonly TokenizedMix data;
    readonly int sequenceLength;
    readonly double qaShare;
    readonly long seed;
    readonly int padTokenId;
    readonly int[] fittingQa; // QA examples short enough for one row

    public BatchSampler(TokenizedMix data, int sequenceLength, double qaShare, long seed, int padTokenId)
    {
        this.data = data;
        this.sequenceLength = sequenceLength;
        this.qaShare = qaShare;
        this.seed = seed;
        this.padTokenId = padTokenId;
        fittingQa = Enumerable.Range(0, data.QaCount).Where(i => data.QaExample(i).Length <= sequenceLength + 1).ToArray();
        if (qaShare > 0 && fittingQa.Length == 0)
            throw new TrainingException(data.QaCount == 0
                ? $"QA share is {qaShare} but no QA examples were given"
                : $"QA share is {qaShare} but none of the {data.QaCount} QA examples fits in {sequenceLength + 1} tokens");
        if (qaShare < 1 && data.CorpusTokens.Length < sequenceLength + 1)
            throw new TrainingException($"the corpus has {data.CorpusTokens.Length} tokens, fewer than one sequence of {sequenceLength + 1}");
    }

    /// <summary>QA examples dropped because they are longer than a training sequence.</summary>
    public int SkippedQaExamples => data.QaCount - fittingQa.Length;

    public MicroBatch Sample(int step, int microStep, int batchSize)
    {
        var inputs = new long[batchSize * sequenceLength];
        var targets = new long[batchSize * sequenceLength];
        var row = new int[sequenceLength + 1];
        for (int r = 0; r < batchSize; r++)
        {
            var random = new CounterRandom(seed, step, microStep, r);
            int filled = random.NextDouble() < qaShare ? PackQa(random, row) : CorpusWindow(random, row);
            for (int t = 0; t < sequenceLength; t++)
            {
                inputs[r * sequenceLength + t] = t < filled ? row[t] : padTokenId;
                targets[r * sequenceLength + t] = t + 1 < filled ? row[t + 1] : IgnoreIndex;
            }
        }
        return new MicroBatch(inputs, targets, batchSize, sequenceLength);
    }

    /// <summary>Held-out batches: consecutive non-overlapping windows from the start of a token stream.</summary>
    public static IReadOnlyList<MicroBatch> Consecutive(int[] tokens, int sequenceLength, int sequences, int batchSize)
    {
        int available = Math.Min(sequences, (tokens.Length - 1) / sequenceLength);
        var batches = new List<MicroBatch>();
        for (int first = 0; first < available; first += batchSize)
        {
            int rows = Math.Min(batchSize, available - first);
            var inputs = new long[rows * sequenceLength];
            var targets = new long[rows * sequenceLength];
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < sequenceLength; t++)
                {
                    int at = (first + r) * sequenceLength + t;
                    inputs[r * sequenceLength + t] = tokens[at];
                    targets[r * sequenceLength + t] = tokens[at + 1];
                }
            batches.Add(new MicroBatch(inputs, targets, rows, sequenceLength));
        }
        return batches;
    }

    int CorpusWindow(CounterRandom random, int[] row)
    {
        long start = random.NextLong(data.CorpusTokens.LongLength - row.Length + 1);
        data.CorpusTokens.AsSpan((int)start, row.Length).CopyTo(row);
        return row.Length;
    }

    int PackQa(CounterRandom random, int[] row)
    {
        int filled = 0, misses = 0;
        while (misses < PackingAttempts && filled < row.Length)
        {
            var example = data.QaExample(fittingQa[random.NextLong(fittingQa.Length)]);
            if (example.Length > row.Length - filled) { misses++; continue; }
            example.CopyTo(row.AsSpan(filled));
            filled += example.Length;
        }
        return filled;
    }
}
