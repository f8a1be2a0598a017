using PicSharp.Compression;
using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Answering;

/// <summary>Makes the answerer of a loaded model (and its compressor, if any): how a command or the service picks its
/// decoding engine without knowing which it is. <see cref="Torch"/> is this library's own.</summary>
public delegate IAnswerer AnswererFactory(LlamaForCausalLM model, TextTokenizer tokenizer, Compressor? compressor);

/// <summary>The answerer factories every engine offers.</summary>
public static class Answerers
{
    /// <summary>The TorchSharp engine (<see cref="TorchAnswerer"/>).</summary>
    public static readonly AnswererFactory Torch = (model, tokenizer, compressor) => new TorchAnswerer(model, tokenizer, compressor);
}
