namespace Synod.Server;

/// <summary>
/// The last full second of one kind of measurement (client requests, fsyncs): how many there were and their 50th and
/// 99th percentiles, for `synod status` and the dashboard (Prometheus gets the full histograms). A second keeps at most
/// <see cref="SamplesMax"/> samples; past that each new one replaces an older one in turn, so the percentiles stay a
/// sample of the whole second while the count stays exact.
/// </summary>
public sealed class RecentWindow(TimeProvider time)
{
    /// <summary>The most samples one second keeps for its percentiles.</summary>
    public const int SamplesMax = 4096;

    private readonly Lock _gate = new();
    private readonly double[] _samples = new double[SamplesMax];
    private int _kept;
    private long _count;
    private long _second = -1;
    private RecentFigures _last = RecentFigures.None;

    public RecentWindow()
        : this(TimeProvider.System)
    {
    }

    /// <summary>One measurement, in milliseconds.</summary>
    public void Record(double ms)
    {
        lock (_gate)
        {
            Roll();
            _samples[_count < SamplesMax ? _kept++ : (int)(_count % SamplesMax)] = ms;
            _count++;
        }
    }

    /// <summary>The figures of the last full second (none in it: zeros).</summary>
    public RecentFigures LastSecond()
    {
        lock (_gate)
        {
            Roll();
            return _last;
        }
    }

    private void Roll()
    {
        var now = time.GetTimestamp() / time.TimestampFrequency;
        if (now == _second)
        {
            return;
        }

        _last = now == _second + 1 && _count > 0 ? Figures() : RecentFigures.None;
        _second = now;
        _kept = 0;
        _count = 0;
    }

    private RecentFigures Figures()
    {
        var sorted = _samples.AsSpan(0, _kept);
        sorted.Sort();
        return new RecentFigures(_count, sorted[(int)Math.Min(_kept - 1, _kept * 0.5)], sorted[(int)Math.Min(_kept - 1, Math.Ceiling(_kept * 0.99) - 1)]);
    }
}

/// <summary>One second's measurements: how many, and the median and 99th percentile in milliseconds.</summary>
public sealed record RecentFigures(long Count, double P50Ms, double P99Ms)
{
    public static readonly RecentFigures None = new(0, 0, 0);
}
