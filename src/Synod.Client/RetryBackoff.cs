namespace Synod.Client;

/// <summary>The pause before a retry: exponential from a first pause, capped, with jitter so clients spread out.</summary>
internal static class RetryBackoff
{
    /// <summary>Each retry waits this many times longer than the one before, up to the cap.</summary>
    public const int GrowthFactor = 2;

    /// <summary>The smallest share of the computed pause that jitter may leave.</summary>
    public const double JitterFloorFraction = 0.5;

    /// <summary>
    /// The pause before retry number <paramref name="retry"/> (0 for the first): first × 2^retry, capped at
    /// <paramref name="max"/>, then scaled into [floor, 1] by <paramref name="jitter"/> drawn from [0, 1).
    /// </summary>
    public static TimeSpan Delay(int retry, TimeSpan first, TimeSpan max, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retry);
        var capped = first.Ticks;
        for (var step = 0; step < retry && capped < max.Ticks; step++)
        {
            capped *= GrowthFactor;
        }

        capped = Math.Min(capped, max.Ticks);
        var scale = JitterFloorFraction + ((1 - JitterFloorFraction) * Math.Clamp(jitter, 0, 1));
        return TimeSpan.FromTicks((long)(capped * scale));
    }
}
