namespace Synod.Core;

/// <summary>
/// A Paxos ballot: a round number made unique per replica by the proposer's id. Ballots are totally
/// ordered by round, then by replica id, so two proposers never share one.
/// </summary>
public readonly record struct Ballot(long Round, int ReplicaId) : IComparable<Ballot>
{
    public static readonly Ballot Zero = new(0, 0);

    public bool IsZero => Round == 0 && ReplicaId == 0;

    public int CompareTo(Ballot other)
    {
        var byRound = Round.CompareTo(other.Round);
        return byRound != 0 ? byRound : ReplicaId.CompareTo(other.ReplicaId);
    }

    public static bool operator <(Ballot left, Ballot right) => left.CompareTo(right) < 0;

    public static bool operator >(Ballot left, Ballot right) => left.CompareTo(right) > 0;

    public static bool operator <=(Ballot left, Ballot right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Ballot left, Ballot right) => left.CompareTo(right) >= 0;

    public static Ballot Max(Ballot left, Ballot right) => left >= right ? left : right;

    public override string ToString() => $"{Round}.{ReplicaId}";
}
