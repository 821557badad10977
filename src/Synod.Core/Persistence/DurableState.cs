namespace Synod.Core.Persistence;

/// <summary>
/// What a replica has made durable, folded from its <see cref="PersistOp"/>s in order. A restarted core is
/// built from one of these; the simulator's disk keeps one for the synced prefix.
/// </summary>
public sealed class DurableState
{
    public Ballot Promised { get; private set; } = Ballot.Zero;

    public SortedDictionary<long, DurableEntry> Entries { get; } = [];

    public long CommitIndex { get; private set; }

    public long SnapshotSlot { get; private set; }

    /// <summary>The snapshot as stored (envelope and state machine bytes): the memory it was appended in, or its durable file (<see cref="UseStoredSnapshot"/>).</summary>
    public ReadOnlyMemory<byte>? SnapshotData { get; private set; }

    /// <summary>Holds <paramref name="stored"/> (the durable file's view) instead of the snapshot at <paramref name="slot"/>'s array, if that is the snapshot here.</summary>
    public void UseStoredSnapshot(long slot, ReadOnlyMemory<byte> stored)
    {
        if (slot == SnapshotSlot && SnapshotData is { } held && held.Length == stored.Length)
        {
            SnapshotData = stored;
        }
    }

    /// <summary>The latest incarnation known for each replica (this one included); absent means 0.</summary>
    public SortedDictionary<int, long> Incarnations { get; } = [];

    /// <summary>The last round of voter questions this replica asked while rebuilding (<see cref="QueryRoundOp"/>); 0 if none.</summary>
    public long QueryRound { get; private set; }

    /// <summary>The replica lost its state and has not yet been allowed to vote again (<see cref="RebuildOp"/>).</summary>
    public bool Rebuilding { get; private set; }

    public void Apply(PersistOp op)
    {
        switch (op)
        {
            case PromiseOp promise:
                Promised = Ballot.Max(Promised, promise.Ballot);
                break;
            case AcceptOp accept:
                Promised = Ballot.Max(Promised, accept.Ballot);
                if (accept.Slot > SnapshotSlot && !IsChosen(accept.Slot))
                {
                    Entries[accept.Slot] = new DurableEntry(accept.Ballot, accept.Commands, Chosen: false);
                }

                break;
            case ChosenOp chosen:
                if (chosen.Slot > SnapshotSlot)
                {
                    Entries[chosen.Slot] = new DurableEntry(Ballot.Zero, chosen.Commands, Chosen: true);
                }

                break;
            case CommitOp commit:
                CommitIndex = Math.Max(CommitIndex, commit.CommitIndex);
                break;
            case SnapshotOp snapshot:
                ApplySnapshot(snapshot);
                break;
            case RebuildOp:
                Rebuilding = true;
                break;
            case IncarnationOp incarnation:
                Incarnations[incarnation.Replica] = Math.Max(Incarnations.GetValueOrDefault(incarnation.Replica), incarnation.Incarnation);
                break;
            case QueryRoundOp round:
                QueryRound = Math.Max(QueryRound, round.Round);
                break;
            case VoterOp voter:
                Rebuilding = false;
                Promised = Ballot.Max(Promised, voter.Ballot);
                break;
            default:
                throw new InvalidOperationException($"Unknown persist op {op.GetType().Name}.");
        }
    }

    /// <summary>
    /// Lets go of the snapshot and the entries (the bulk of a recovered state) once a core has been built from them: the
    /// core copied what it needs, and the storage's mirror holds the rest.
    /// </summary>
    public void ForgetData()
    {
        SnapshotData = null;
        Entries.Clear();
    }

    public DurableState Clone()
    {
        var copy = new DurableState
        {
            Promised = Promised,
            CommitIndex = CommitIndex,
            SnapshotSlot = SnapshotSlot,
            SnapshotData = SnapshotData,
            Rebuilding = Rebuilding,
            QueryRound = QueryRound,
        };
        foreach (var (slot, entry) in Entries)
        {
            copy.Entries[slot] = entry;
        }

        foreach (var (replica, incarnation) in Incarnations)
        {
            copy.Incarnations[replica] = incarnation;
        }

        return copy;
    }

    private bool IsChosen(long slot) => Entries.TryGetValue(slot, out var entry) && entry.Chosen;

    private void ApplySnapshot(SnapshotOp snapshot)
    {
        if (snapshot.Slot <= SnapshotSlot)
        {
            return;
        }

        SnapshotSlot = snapshot.Slot;
        SnapshotData = snapshot.Data;
        CommitIndex = Math.Max(CommitIndex, snapshot.Slot);
        // One walk from the lowest slot (a first-key lookup per removal allocated an enumerator each time, thousands
        // per snapshot on a busy replica).
        List<long>? covered = null;
        foreach (var slot in Entries.Keys)
        {
            if (slot > snapshot.Slot)
            {
                break;
            }

            (covered ??= []).Add(slot);
        }

        foreach (var slot in covered ?? [])
        {
            Entries.Remove(slot);
        }
    }
}
