namespace PicSharp.Answering;

/// <summary>
/// How a question's answer picks its tokens, as OpenAI's chat requests say it: temperature 0 (the default) is greedy,
/// otherwise nucleus sampling over top_p with a fixed seed; <see cref="Stop"/> ends the answer early (the end of the
/// line always does). Questions with the same sampling are answered as one batch.
/// </summary>
public sealed record Sampling
{
    public static readonly Sampling Greedy = new();

    public double Temperature { get; init; }
    public double TopP { get; init; } = 1;
    public IReadOnlyList<string> Stop { get; init; } = [];
    public ulong Seed { get; init; }

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first value that cannot be used, in OpenAI's field names.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Temperature) || Temperature is < 0 or > 2) throw new InvalidInputException($"temperature must be between 0 and 2 (0 = greedy), got {Temperature}");
        if (!double.IsFinite(TopP) || TopP is <= 0 or > 1) throw new InvalidInputException($"top_p must be greater than 0 and at most 1, got {TopP}");
        if (Stop.Count > 4) throw new InvalidInputException($"stop takes at most 4 strings, got {Stop.Count}");
        if (Stop.Any(string.IsNullOrEmpty)) throw new InvalidInputException("a stop string is empty: it would stop before the first token");
    }

    /// <summary>Equal for samplings that may share one decoding batch.</summary>
    internal string BatchKey => $"{Temperature:R}|{TopP:R}|{Seed}|{string.Join('\0', Stop)}";
}
