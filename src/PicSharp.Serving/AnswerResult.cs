using PicSharp.Modeling;

namespace PicSharp.Serving;

/// <summary>An answer and what it cost: prompt and answer tokens, why generation stopped, seconds in the model.</summary>
public sealed record AnswerResult(string Text, int PromptTokens, int AnswerTokens, StopReason Reason, double ModelSeconds);
