using System.Buffers.Binary;

namespace Synod.Kv;

/// <summary>
/// A leader's ballot as the state machine sees it (the core's Ballot: a round, then the proposer's id; the state machine
/// does not depend on the core). Ordered by round, then by replica id.
/// </summary>
public readonly record struct KvEpoch(long Round, int ReplicaId) : IComparable<KvEpoch>
{
    public int CompareTo(KvEpoch other)
    {
        var byRound = Round.CompareTo(other.Round);
        return byRound != 0 ? byRound : ReplicaId.CompareTo(other.ReplicaId);
    }

    public static bool operator <(KvEpoch left, KvEpoch right) => left.CompareTo(right) < 0;

    public static bool operator >(KvEpoch left, KvEpoch right) => left.CompareTo(right) > 0;

    public static bool operator <=(KvEpoch left, KvEpoch right) => left.CompareTo(right) <= 0;

    public static bool operator >=(KvEpoch left, KvEpoch right) => left.CompareTo(right) >= 0;

    /// <summary>Writes the 12 bytes a leader epoch or an expiry carries: the round, then the replica id, little-endian.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, Round);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], ReplicaId);
    }

    public static KvEpoch Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(source), BinaryPrimitives.ReadInt32LittleEndian(source[8..]));

    public override string ToString() => $"{Round}.{ReplicaId}";
}
