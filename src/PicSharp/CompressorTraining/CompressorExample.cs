using PicSharp.Compression;

namespace PicSharp.CompressorTraining;

/// <summary>One training example: the context the compressor reads and what the decoder must do from its memory.</summary>
public sealed record CompressorExample(IReadOnlyList<int> Context, DecoderExample Decoder)
{
    /// <summary>Text tokens the example puts through the compressor and the decoder (memory and task slots not counted).</summary>
    public int Tokens => Context.Count + Decoder.Prompt.Count + Decoder.Target.Count;
}
