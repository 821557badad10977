using System.Diagnostics;

namespace Synod.Chaos;

/// <summary>
/// The one monotonic clock of a run: seconds since the run began. The history, the fault timeline and the report
/// all use it, so their times can be compared directly.
/// </summary>
internal sealed class RunClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds;
}
