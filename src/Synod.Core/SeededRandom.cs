namespace Synod.Core;

/// <summary>
/// SplitMix64: a small, fast generator whose whole state is one ulong, so a seed fully determines
/// the sequence on every platform and runtime version (System.Random makes no such promise).
/// </summary>
public sealed class SeededRandom : IRandomSource
{
    private ulong _state;

    public SeededRandom(ulong seed)
    {
        _state = seed;
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "The upper bound must be positive.");
        }

        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>Returns a number in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => NextDouble() < probability;
}
