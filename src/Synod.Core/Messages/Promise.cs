namespace Synod.Core.Messages;

/// <summary>
/// Phase 1b: the acceptor promised Ballot (durably, before this was sent) and reports what it holds from
/// FromSlot on. SnapshotSlot tells the candidate that slots up to it are chosen and compacted away;
/// Truncated that more entries exist than one promise carries. Incarnation is the acceptor's own life (it grows each
/// time the acceptor rebuilds after losing its disk); KnownIncarnations the latest life it knows of every replica, so
/// that a candidate can discard a promise made by an acceptor in a life it has since lost (Replica.Rebuild.cs).
/// </summary>
public sealed record Promise(
    int From,
    int To,
    Ballot Ballot,
    long FromSlot,
    IReadOnlyList<PromisedEntry> Entries,
    long CommitIndex,
    long SnapshotSlot,
    bool Truncated,
    long Incarnation = 0,
    IReadOnlyDictionary<int, long>? KnownIncarnations = null) : Message(From, To);
