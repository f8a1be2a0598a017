namespace PicSharp.Lab;

/// <summary>
/// A curve over an arm's training wall clock on which the paper's learning-speed claim (pic reaches global's best in
/// less time) can be read: dev F1 from memory, the graded dev answer loss of the QA stage's probe, and the held-out
/// autoencoding loss of the pretraining stage's probe (the only one that moves where answers sit at the F1 floor).
/// </summary>
public enum LearningCurve { DevF1, DevAnswerLoss, HeldOutAutoencodingLoss }
