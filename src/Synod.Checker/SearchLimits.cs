using System.Diagnostics;

namespace Synod.Checker;

/// <summary>How long a search may run: a shared wall-clock deadline and a per-search step limit.</summary>
internal readonly struct SearchLimits
{
    private readonly long _startTimestamp;
    private readonly TimeSpan? _budget;

    public SearchLimits(long startTimestamp, TimeSpan? budget, long stepsMax)
    {
        _startTimestamp = startTimestamp;
        _budget = budget;
        StepsMax = stepsMax;
    }

    public long StepsMax { get; }

    public bool IsPastDeadline =>
        _budget is TimeSpan budget && Stopwatch.GetElapsedTime(_startTimestamp) >= budget;

    public SearchLimits WithStepsMax(long stepsMax) => new(_startTimestamp, _budget, stepsMax);
}
