using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Everything the core asks of its shell after some inputs (etcd raft's Ready). The shell must, in order:
/// make <see cref="PersistOps"/> durable; then send <see cref="Messages"/>; then call
/// <see cref="Replica.Persisted"/> with <see cref="Number"/>. It may restore <see cref="Snapshot"/> and apply
/// <see cref="Committed"/> (in this order) at once: chosen values never change.
/// </summary>
public sealed class Ready
{
    public long Number { get; init; }

    public List<PersistOp> PersistOps { get; } = [];

    public List<Message> Messages { get; } = [];

    public SnapshotToInstall? Snapshot { get; set; }

    public List<CommittedEntry> Committed { get; } = [];

    public List<ReadState> ReadStates { get; } = [];

    /// <summary>Reads this replica could not start (no leader known, or too many waiting): the shell should fail them at once.</summary>
    public List<long> DroppedReads { get; } = [];

    public bool IsEmpty =>
        PersistOps.Count == 0 && Messages.Count == 0 && Snapshot is null && Committed.Count == 0 && ReadStates.Count == 0 && DroppedReads.Count == 0;
}
