using Synod.Kv;

namespace Synod.Server;

/// <summary>The applied result of a write, as the replica contacted saw it applied.</summary>
public sealed record WriteOutcome(KvStatus Status, long Slot, bool Duplicate, ulong RegisteredClientId = 0);

/// <summary>A read's answer: the value (null when absent), the slot applied when read, and how far behind that may be.</summary>
public sealed record ReadOutcome(byte[]? Value, long AppliedSlot, long LagSlots);

/// <summary>A snapshot of the replica's state for Status and for error messages.</summary>
public sealed record HostStatus(
    int Id,
    string Role,
    int? LeaderId,
    string Ballot,
    string Promised,
    long CommitIndex,
    long AppliedSlot,
    long HighestKnownCommit,
    long SnapshotSlot,
    IReadOnlyList<int> LiveReplicas,
    int Replicas,
    int Keys,
    int QuorumSize,
    bool Rebuilding,
    long WalBytes,
    int WalSegments,
    long Fsyncs,
    long WalRecords,
    long PeerMessagesRefused);
