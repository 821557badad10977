namespace Synod.Core.Messages;

/// <summary>
/// Phase 1b: the acceptor promised Ballot (durably, before this was sent) and reports what it holds from
/// FromSlot on. SnapshotSlot tells the candidate that slots up to it are chosen and compacted away;
/// Truncated that more entries exist than one promise carries.
/// </summary>
public sealed record Promise(
    int From,
    int To,
    Ballot Ballot,
    long FromSlot,
    IReadOnlyList<PromisedEntry> Entries,
    long CommitIndex,
    long SnapshotSlot,
    bool Truncated) : Message(From, To);
