using HdrHistogram;

namespace Synod.Bench;

/// <summary>What one measured phase of a benchmark produced: counts, wall time and the latency of every success.</summary>
/// <param name="Ops">Operations acknowledged.</param>
/// <param name="Errors">Operations that failed (deadline, refused, connection lost); their latency is not recorded.</param>
/// <param name="Elapsed">From the first request of the phase until the last answer.</param>
/// <param name="LatencyMicros">Latency of each acknowledged operation, in microseconds.</param>
/// <param name="ErrorSamples">A few distinct error messages with how often each was seen.</param>
public sealed record BenchResult(long Ops, long Errors, TimeSpan Elapsed, HistogramBase LatencyMicros, IReadOnlyDictionary<string, long> ErrorSamples)
{
    public double OpsPerSecond => Elapsed > TimeSpan.Zero ? Ops / Elapsed.TotalSeconds : 0;

    /// <summary>The latency at <paramref name="percentile"/> (0..100) in milliseconds; 0 when nothing succeeded.</summary>
    public double PercentileMs(double percentile) =>
        LatencyMicros.TotalCount == 0 ? 0 : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

    public double MaxMs => LatencyMicros.TotalCount == 0 ? 0 : LatencyMicros.GetMaxValue() / 1000.0;
}
