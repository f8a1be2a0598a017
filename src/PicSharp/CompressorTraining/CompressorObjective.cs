namespace PicSharp.CompressorTraining;

/// <summary>
/// What a compressor learns from: `Pretrain` = windows of plain text, each either reconstructed from its memory
/// (autoencoding, task token &lt;ae&gt;) or continued after it (LM, &lt;lm&gt;); `Qa` = questions answered from the
/// memory of their passage (&lt;qa&gt;), loss on the answer tokens.
/// </summary>
public enum CompressorObjective { Pretrain, Qa }
