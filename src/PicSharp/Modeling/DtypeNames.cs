namespace PicSharp.Modeling;

/// <summary>
/// PicSharp names dtypes as HF's config.json does (float32, bfloat16, float16). The short names fp32, bf16 and fp16
/// (older options, scripts and checkpoints) are read as those names and never written.
/// </summary>
public static class DtypeNames
{
    static readonly Dictionary<string, string> ShortNames = new() { ["fp32"] = "float32", ["bf16"] = "bfloat16", ["fp16"] = "float16" };

    /// <summary>The HF name of <paramref name="name"/> (a short name is translated; case is ignored).</summary>
    public static string Canonical(string name)
    {
        string lower = name.ToLowerInvariant();
        return ShortNames.GetValueOrDefault(lower, lower);
    }
}
