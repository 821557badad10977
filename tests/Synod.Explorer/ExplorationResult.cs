namespace Synod.Explorer;

/// <summary>What one exploration did and found.</summary>
public sealed record ExplorationResult
{
    /// <summary>Steps executed from a known state (transitions), counting those that led to a state seen before.</summary>
    public long StatesExplored { get; init; }

    /// <summary>Distinct state hashes reached.</summary>
    public long DistinctStates { get; init; }

    /// <summary>The longest schedule explored.</summary>
    public int DepthReached { get; init; }

    public TimeSpan Elapsed { get; init; }

    /// <summary>Every schedule within the depth bound was explored (the state budget was not what stopped the search).</summary>
    public bool Exhausted { get; init; }

    /// <summary>Schedules cut because more messages were in flight than InFlightMessagesMax.</summary>
    public long CutAtMessageBound { get; init; }

    /// <summary>The first invariant broken, or null if none was.</summary>
    public string? Violation { get; init; }

    /// <summary>The schedule that broke it, printed step by step with each step's effects; null if none.</summary>
    public string? Schedule { get; init; }

    public int ScheduleLength { get; init; }

    /// <summary>What else the search has to say about its bound (for the interrupted-election search, how many interruptions it started from); null if nothing.</summary>
    public string? Detail { get; init; }

    public string Summary =>
        $"states explored: {StatesExplored}, distinct states: {DistinctStates}, depth reached: {DepthReached}, " +
        $"cut at the message bound: {CutAtMessageBound}, time: {Elapsed.TotalSeconds:0.0} s, search {(Violation is not null ? "stopped at the first violation" : Exhausted ? "exhausted the depth bound" : "stopped at the state budget")}";

    public string Verdict => Violation is null
        ? "verdict: no violation"
        : $"verdict: VIOLATION after {ScheduleLength} steps: {Violation}";
}
