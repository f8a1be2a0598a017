using System.Text;
using Microsoft.ML.Tokenizers;

namespace PicSharp.Tokenization;

/// <summary>Unicode NFC normalisation, the `{"type": "NFC"}` normalizer of tokenizer.json (Qwen2/Qwen3).</summary>
sealed class NfcNormalizer : Normalizer
{
    public static readonly NfcNormalizer Instance = new();

    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
