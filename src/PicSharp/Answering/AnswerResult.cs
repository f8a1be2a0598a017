using PicSharp.Modeling;

namespace PicSharp.Answering;

/// <summary>An answer and what it cost: prompt and answer tokens, why generation stopped (shown everywhere as
/// <see cref="StopReasons.Name"/>), seconds in the model.</summary>
public sealed record AnswerResult(string Text, int PromptTokens, int AnswerTokens, StopReason Reason, double ModelSeconds);
