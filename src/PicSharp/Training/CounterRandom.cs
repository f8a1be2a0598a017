namespace PicSharp.Training;

/// <summary>
/// A random stream that is a pure function of its key (SplitMix64 over a hashed key), so any draw of a training run
/// can be recomputed from (seed, step, micro-step, row) alone — which is what makes resuming exact.
/// </summary>
public sealed class CounterRandom
{
    ulong state;

    public CounterRandom(params long[] key)
    {
        state = 0x243F6A8885A308D3UL;
        foreach (long part in key) state = Mix(state ^ (ulong)part) + 0x9E3779B97F4A7C15UL;
    }

    public ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, bound) for bound > 0 (multiply-shift, bias below 2^-64 × bound).</summary>
    public long NextLong(long bound) => (long)(((UInt128)NextUInt64() * (ulong)bound) >> 64);

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
