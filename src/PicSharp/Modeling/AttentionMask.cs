using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>Boolean attention masks (True = may attend) in the shapes the attention layers accept.</summary>
public static class AttentionMask
{
    /// <summary>[seq, past+seq]: query i (at absolute position past+i) sees keys 0..past+i.</summary>
    public static Tensor Causal(long seq, long past = 0)
    {
        var query = TorchScalars.Range(past, past + seq).unsqueeze(1);
        var key = TorchScalars.Range(0, past + seq).unsqueeze(0);
        return key <= query;
    }

    /// <summary>Brings a [q, k] or [batch, q, k] mask to the [batch, heads=1, q, k] layout that attention broadcasts.</summary>
    public static Tensor ToFourDimensions(Tensor mask)
    {
        if (mask.dtype != ScalarType.Bool) throw new ArgumentException($"attention mask must be boolean (True = may attend), got {mask.dtype}");
        return mask.dim() switch
        {
            2 => mask.unsqueeze(0).unsqueeze(0),
            3 => mask.unsqueeze(1),
            4 => mask,
            _ => throw new ArgumentException($"attention mask must have 2, 3 or 4 dimensions, got shape [{string.Join(", ", mask.shape)}]"),
        };
    }
}
