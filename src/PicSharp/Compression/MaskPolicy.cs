namespace PicSharp.Compression;

/// <summary>Who may attend to whom inside the compressor (see the mission notes, "Mask policies").</summary>
public enum MaskPolicy
{
    /// <summary>ICAE baseline: text causal, each memory token sees the whole context and earlier memory tokens.</summary>
    Global,
    /// <summary>PIC: block-diagonal; chunk b's text and memory tokens see only chunk b (equal to compressing chunks one by one).</summary>
    Pic,
    /// <summary>Ablation: text keeps full causal attention, only memory tokens are restricted to their chunk.</summary>
    PicCausalText,
    /// <summary>Ablation: like Pic, and memory block b also sees the memory tokens of earlier blocks.</summary>
    PicRecurrent,
}

public static class MaskPolicyNames
{
    static readonly Dictionary<string, MaskPolicy> ByName = new()
    {
        ["global"] = MaskPolicy.Global,
        ["pic"] = MaskPolicy.Pic,
        ["pic-causal-text"] = MaskPolicy.PicCausalText,
        ["pic-recurrent"] = MaskPolicy.PicRecurrent,
    };

    public static MaskPolicy Parse(string name) => ByName.TryGetValue(name, out var policy)
        ? policy
        : throw new ArgumentException($"unknown mask policy '{name}'; known: {string.Join(", ", ByName.Keys)}");

    public static string Name(this MaskPolicy policy) => ByName.First(p => p.Value == policy).Key;
}
