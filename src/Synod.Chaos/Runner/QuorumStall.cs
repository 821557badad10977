using Synod.Checker;

namespace Synod.Chaos;

/// <summary>
/// The longest stretch in which no write succeeded although, by the planner's own account, a quorum of replicas ran,
/// voted, was connected and answered its health check the whole time. Faults explain a gap in writes only while
/// they leave no such quorum; a stretch like this is a liveness failure of Synod, not of the schedule.
/// </summary>
/// <param name="From">Run-clock seconds when the stretch began: a quorum became healthy, or the last write before it succeeded.</param>
/// <param name="To">When it ended: the next successful write, the quorum's loss, or the end of the fault phase.</param>
/// <param name="AtStart">The planner's picture at its start: which replicas were healthy and what was impaired.</param>
public sealed record QuorumStall(double From, double To, FaultPicture AtStart)
{
    public double Seconds => To - From;

    /// <summary>What was in force when the stretch began, in words.</summary>
    public string Describe() =>
        $"healthy replicas {string.Join(",", AtStart.Healthy)}; {AtStart.Impaired} impaired" +
        (AtStart.Rebuilding > 0 ? $" ({AtStart.Rebuilding} rebuilding)" : "") +
        (AtStart.PartitionActive ? "; a partition in force" : "; no partition");

    /// <summary>
    /// Finds the longest stretch within [<paramref name="start"/>, <paramref name="end"/>] with no successful write
    /// during which every <paramref name="samples"/> (in time order) showed healthy replicas holding a quorum of every
    /// voter set that may govern (<see cref="FaultPicture.HasQuorum"/>; of <paramref name="replicas"/> voters when a sample
    /// names no sets); null if there is none.
    /// </summary>
    public static QuorumStall? Longest(IEnumerable<Operation> history, IReadOnlyList<FaultPicture> samples, int replicas, double start, double end)
    {
        var writes = history
            .Where(op => op.Kind != OperationKind.Get && op.Outcome == Outcome.Ok && op.Complete is double c && c >= start && c <= end)
            .Select(op => op.Complete!.Value)
            .Order()
            .ToList();
        QuorumStall? longest = null;
        var next = 0;
        double? stretchStart = null;
        FaultPicture? stretchPicture = null;
        foreach (var sample in samples.Where(s => s.Now >= start && s.Now <= end))
        {
            Wrote(sample.Now);
            if (sample.HasQuorum(replicas))
            {
                if (stretchStart is null)
                {
                    stretchStart = sample.Now;
                    stretchPicture = sample;
                }
            }
            else
            {
                Close(sample.Now);
                stretchStart = null;
            }
        }

        Wrote(end);
        Close(end);
        return longest;

        // Each successful write up to `until` ends the stretch under way, and a new one begins right after it.
        void Wrote(double until)
        {
            for (; next < writes.Count && writes[next] <= until; next++)
            {
                if (stretchStart is not null)
                {
                    Close(writes[next]);
                    stretchStart = writes[next];
                }
            }
        }

        void Close(double at)
        {
            if (stretchStart is double from && at - from > (longest?.Seconds ?? 0))
            {
                longest = new QuorumStall(from, at, stretchPicture!);
            }
        }
    }
}
