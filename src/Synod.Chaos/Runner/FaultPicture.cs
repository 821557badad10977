namespace Synod.Chaos;

/// <summary>
/// What the planner needs to know about the cluster now. <see cref="Healthy"/> replicas run, vote or learn, are not cut
/// off and answered their last heartbeat; <see cref="Impaired"/> counts every other voter (down, paused, rebuilding,
/// cut off, or not yet answering since a restart).
/// </summary>
public sealed record FaultPicture(double Now, IReadOnlyList<int> Healthy, int Impaired, int Rebuilding, bool PartitionActive)
{
    /// <summary>
    /// The voter sets that may govern now: the latest, and while a membership change is under way the ones before it
    /// too (a change takes effect some slots after it is chosen). Null: replicas 1 to N of the first configuration.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? VoterSets { get; init; }

    /// <summary>Every running member (voters and learners, not removed), which a partition splits; null: the voters.</summary>
    public IReadOnlyList<int>? Members { get; init; }

    /// <summary>A membership change (replace or resize) is under way; no other starts until it ends.</summary>
    public bool MembershipBusy { get; init; }

    /// <summary>Ids not used yet, which a replacement or a new voter takes (each id once).</summary>
    public int SpareIds { get; init; }

    /// <summary>The membership has changed: a wiped voter may not rebuild any more and is replaced instead.</summary>
    public bool MembershipChanged { get; init; }

    /// <summary>Whether the healthy replicas hold a quorum of every voter set that may govern (of 1..<paramref name="replicas"/> without sets).</summary>
    public bool HasQuorum(int replicas) =>
        VoterSets is { } sets ? sets.All(set => set.Count(Healthy.Contains) >= Quorum(set.Count)) : Healthy.Count >= Quorum(replicas);

    public static int Quorum(int voters) => (voters / 2) + 1;
}
