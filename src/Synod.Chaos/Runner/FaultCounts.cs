namespace Synod.Chaos;

/// <summary>
/// Faults injected so far. Kills, pauses, restarts and wipes count replicas (a kill of two replicas is two kills);
/// partitions and majority faults count events. <see cref="UnexpectedExits"/> counts replicas that stopped without
/// being killed: each one is a failure of the run.
/// </summary>
public sealed record FaultCounts(int Kills, int Pauses, int Restarts, int Wipes, int Partitions, int MajorityFaults, int UnexpectedExits)
{
    /// <summary>Replaces begun (a voter by a new id), the wiped voters replaced once the membership had changed among them.</summary>
    public int Replaces { get; init; }

    /// <summary>Packet losses made (each of one or more replicas, `--net netns`).</summary>
    public int Losses { get; init; }

    /// <summary>Delays made (each of one or more replicas' packets, `--net netns`).</summary>
    public int Delays { get; init; }

    /// <summary>Resizes begun (grow by two voters, or shrink back by two).</summary>
    public int Resizes { get; init; }

    internal static FaultCounts From(FaultTimeline timeline) => new(
        timeline.CountReplicas(FaultTimeline.Kill),
        timeline.CountReplicas(FaultTimeline.Pause),
        timeline.CountReplicas(FaultTimeline.Restart),
        timeline.CountReplicas(FaultTimeline.Wipe),
        timeline.CountEvents(FaultTimeline.Partition),
        timeline.Events.Count(e => e.Majority),
        timeline.CountReplicas(FaultTimeline.Exit))
    {
        Replaces = timeline.CountEvents(FaultTimeline.Replace),
        Resizes = timeline.CountEvents(FaultTimeline.Resize),
        Losses = timeline.CountEvents(FaultTimeline.Loss),
        Delays = timeline.CountEvents(FaultTimeline.Delay),
    };

    public int Total => Kills + Pauses + Wipes + Partitions + Losses + Delays + Replaces + Resizes;
}
