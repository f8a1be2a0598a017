using PicSharp.Compression;

namespace PicSharp.Answering;

/// <summary>
/// The one way a question becomes an answer, for every command, endpoint and evaluation mode: build a request
/// (tokenised and checked once; bad input fails here, before any queue) and answer requests in batches (each gets
/// the answer it would get alone). The seam where a second decoding engine plugs in.
/// </summary>
public interface IAnswerer
{
    /// <summary>A question about one row of a memory. Throws <see cref="InvalidInputException"/> (empty question,
    /// question and answer past the decoder's positions).</summary>
    AnswerRequest FromMemory(CompressedMemory memory, string question, int maxNewTokens, int row = 0);

    /// <summary>A question the base model answers from <paramref name="context"/> in its prompt (the upper bound), or
    /// from nothing when it is null (the lower bound). Throws <see cref="InvalidInputException"/> like <see cref="FromMemory"/>.</summary>
    AnswerRequest FromText(string? context, string question, int maxNewTokens);

    /// <summary>Answers the requests as one batch where it can; result i answers request i. A cancelled request stops
    /// with <see cref="Modeling.StopReason.Cancelled"/> while the others go on.</summary>
    IReadOnlyList<AnswerResult> Answer(IReadOnlyList<AnswerRequest> requests);
}
