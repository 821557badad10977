namespace Synod.Server;

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
    long PeerMessagesRefused,
    long Revision,
    long CompactRevision,
    long HistoryChanges,
    long HistoryBytes,
    int Watchers,
    int Leases);
