using PicSharp.Compression;

namespace PicSharp.CompressorTraining;

/// <summary>
/// The dev probe of a compressor run: fixed held-out examples (autoencoding windows of the validation text, or dev
/// questions for the QA objective) scored teacher-forced, plus an optional answering pass over a fixed dev sample
/// (<paramref name="answerFromMemory"/> returns EM and F1).
/// </summary>
public sealed class CompressorProbe(IReadOnlyList<CompressorExample> heldOut, Func<Compressor, (double ExactMatch, double F1)>? answerFromMemory = null)
{
    public IReadOnlyList<CompressorExample> HeldOut { get; } = heldOut;
    public bool Answers => answerFromMemory is not null;

    public (DecoderScore HeldOut, double? ExactMatch, double? F1) Run(CompressorTrainer trainer)
    {
        var score = trainer.Evaluate(HeldOut);
        if (answerFromMemory is null) return (score, null, null);
        trainer.Compressor.eval();
        try
        {
            var (em, f1) = answerFromMemory(trainer.Compressor);
            return (score, em, f1);
        }
        finally { trainer.Compressor.train(); }
    }
}
