using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Everything the core asks of its shell after some inputs (etcd raft's Ready). The shell must, in order:
/// write <see cref="PersistOps"/> and, if <see cref="MustSyncBeforeSending"/>, make them durable; then send
/// <see cref="Messages"/>; then call <see cref="Replica.Persisted"/> with <see cref="Number"/>. It may restore <see cref="Snapshot"/> and apply
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

    /// <summary>Configuration commands chosen since the last Ready: the configuration each made, or why it changed nothing.</summary>
    public List<ConfigurationOutcome> ConfigurationOutcomes { get; } = [];

    /// <summary>Reads this replica could not start (no leader known, or too many waiting): the shell should fail them at once.</summary>
    public List<long> DroppedReads { get; } = [];

    /// <summary>
    /// Whether <see cref="PersistOps"/> must be durable before any message leaves. False when every op only records
    /// what is already chosen (<see cref="ChosenOp"/>, <see cref="CommitOp"/>): a chosen value is durable at a
    /// quorum of acceptors already, so no message vouches for this replica keeping it, and losing the record in a
    /// crash only means learning it again. Such records are still written at once, and the next fsync covers them,
    /// as records reach the disk in order (docs/protocol.md, "What must be durable when").
    /// </summary>
    public bool MustSyncBeforeSending => PersistOps.Exists(op => op is not (ChosenOp or CommitOp));

    public bool IsEmpty =>
        PersistOps.Count == 0 && Messages.Count == 0 && Snapshot is null && Committed.Count == 0 && ReadStates.Count == 0 && DroppedReads.Count == 0 &&
        ConfigurationOutcomes.Count == 0;
}
