using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// Numbers passed to torch operations, held for the life of the process. TorchSharp 0.107 turns a number such as the
/// `1` that `a + b` adds with into a temporary <see cref="Scalar"/> whose finalizer frees it, and hands only its
/// native pointer to the call; a collection started by another thread during the call can free it mid-call (a crash
/// or a wrong value; docs/perf.md, "A crash TorchSharp can cause"). A Scalar that stays reachable cannot be freed.
/// Numbers that change per call are held in a `using` local across the call instead; TemporaryScalarTests scans
/// the assembly's IL for any other kind.
/// </summary>
public static class TorchScalars
{
    /// <summary>The alpha of a plain addition (an integer, so integer tensors can take it too).</summary>
    public static readonly Scalar One = 1.ToScalar();
    /// <summary>Zero, for comparisons and clamps of index tensors.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>The int64 tensor [start, start + 1, …, stop - 1]: <c>torch.arange</c> with every bound held.</summary>
    public static Tensor Range(long start, long stop)
    {
        using var from = start.ToScalar();
        using var to = stop.ToScalar();
        return arange(from, to, One, dtype: ScalarType.Int64);
    }
}
