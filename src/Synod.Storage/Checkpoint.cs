using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// The records a segment begins with after compaction: the durable state above the snapshot, restated so that the
/// snapshot plus this segment fold to the same <see cref="DurableState"/> as everything before it did. Pure.
/// </summary>
internal static class Checkpoint
{
    public static List<PersistOp> From(DurableState state)
    {
        var ops = new List<PersistOp>(state.Entries.Count + 4);
        if (!state.Promised.IsZero)
        {
            ops.Add(new PromiseOp(state.Promised));
        }

        if (state.Rebuilding)
        {
            ops.Add(new RebuildOp());
        }

        foreach (var (replica, incarnation) in state.Incarnations)
        {
            ops.Add(new IncarnationOp(replica, incarnation));
        }

        if (state.QueryRound > 0)
        {
            ops.Add(new QueryRoundOp(state.QueryRound));
        }

        if (state.CommitIndex > 0)
        {
            ops.Add(new CommitOp(state.CommitIndex));
        }

        foreach (var (slot, entry) in state.Entries)
        {
            ops.Add(entry.Chosen ? new ChosenOp(slot, entry.Commands) : new AcceptOp(slot, entry.Ballot, entry.Commands));
        }

        ops.Insert(0, new CheckpointMarkerOp(state.SnapshotSlot));
        ops.Add(new CheckpointEndOp(state.SnapshotSlot));
        return ops;
    }

    /// <summary>
    /// Whether the log already holds everything a snapshot at <paramref name="slot"/> stands for: every slot from the
    /// current snapshot up to it is committed and present. Such a snapshot (the replica's own compaction) may be
    /// written later, off the owner thread, because losing it loses nothing. One that is not covered (installed from a
    /// peer) must be durable before any later record, or a restart could keep a commit index without the values.
    /// </summary>
    public static bool Covers(DurableState state, long slot)
    {
        if (slot > state.CommitIndex)
        {
            return false;
        }

        for (var s = state.SnapshotSlot + 1; s <= slot; s++)
        {
            if (!state.Entries.ContainsKey(s))
            {
                return false;
            }
        }

        return true;
    }
}
