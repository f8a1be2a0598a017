using PicSharp.Compression;
using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>
/// The pretraining examples: a random window of the corpus token stream is the context; with probability LmShare the
/// decoder continues the text after it (&lt;lm&gt;), else it reconstructs the window itself (&lt;ae&gt;).
/// </summary>
public sealed class CorpusWindows : ICompressorExampleSource
{
    readonly int[] tokens;
    readonly int window, continuation;
    readonly double lmShare;

    public CorpusWindows(int[] tokens, int window, int continuation, double lmShare)
    {
        // Every draw reserves room for a continuation, so the window positions do not depend on the task drawn.
        if (tokens.Length < window + continuation)
            throw new TrainingException($"the corpus has {tokens.Length} tokens, fewer than one window of {window} + continuation of {continuation}");
        this.tokens = tokens;
        this.window = window;
        this.continuation = continuation;
        this.lmShare = lmShare;
    }

    public CompressorExample Draw(CounterRandom random)
    {
        bool continueText = random.NextDouble() < lmShare;
        int start = (int)random.NextLong(tokens.Length - window - continuation + 1);
        var context = tokens[start..(start + window)];
        return continueText
            ? new CompressorExample(context, new DecoderExample(TaskToken.Continue, [], tokens[(start + window)..(start + window + continuation)]))
            : Autoencode(context);
    }

    static CompressorExample Autoencode(int[] context) => new(context, new DecoderExample(TaskToken.Autoencode, [], context));

    /// <summary>
    /// Held-out autoencoding examples: <paramref name="count"/> non-overlapping windows spread evenly over the whole
    /// token stream, so the probe samples every document of the held-out text rather than the first one or two.
    /// </summary>
    public static IReadOnlyList<CompressorExample> Spread(int[] tokens, int window, int count) =>
        SpreadWindows(tokens, window, count).Select(Autoencode).ToList();

    /// <summary>The windows of <see cref="Spread"/> (fewer when the stream holds fewer than count).</summary>
    public static IReadOnlyList<int[]> SpreadWindows(int[] tokens, int window, int count)
    {
        int available = tokens.Length / window;
        int taken = Math.Min(count, available);
        // Window i starts at slot floor(i·available/taken): evenly spaced, never overlapping, deterministic.
        return Enumerable.Range(0, taken).Select(i =>
        {
            int start = (int)((long)i * available / taken) * window;
            return tokens[start..(start + window)];
        }).ToList();
    }
}
