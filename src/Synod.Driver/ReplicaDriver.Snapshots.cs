using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// When to snapshot, and handing the snapshot to the core. The state is frozen where it stands (later writes go to an
/// overlay) and serialised as background work, so the owner never waits for a pass over the whole state.
/// </summary>
public sealed partial class ReplicaDriver
{
    private long _lastSnapshotSlot;

    /// <summary>
    /// A snapshot handed to the core whose SnapshotOp the log has not taken yet: the Ready that carries it is applied
    /// before it is written, and until it is written the log neither reports it busy nor has reset its byte count, so
    /// without this a second snapshot of the whole state would start at once (it did: two back to back per trigger).
    /// </summary>
    private bool _snapshotNotYetLogged;

    /// <summary>No snapshot is started while set (a snapshot thread that falls behind; a simulator fault's step).</summary>
    public bool SnapshotsPaused { get; set; }

    /// <summary>Snapshots that came out over ReplicaOptions.SnapshotBytesMax and were not taken, since this replica started.</summary>
    public long SnapshotsTooLarge { get; private set; }

    /// <summary>After a snapshot too large to take: no other is tried before the log has these bytes since the last snapshot, or this slot is applied.</summary>
    private long _snapshotRetryAtLogBytes;

    private long _snapshotRetryAtSlot;

    /// <summary>
    /// The slot at which a snapshot is due by slots, after one at <paramref name="last"/>: the first slot at least half of
    /// <paramref name="every"/> later at which this replica's phase comes round, the phases of the voters spread evenly
    /// over the trigger (slot n is in phase for the voter at <paramref name="place"/> of <paramref name="voters"/> when
    /// n + place × every / voters is a multiple of every). Every replica counts the same slots, so without phases all of
    /// them began snapshotting at the same slot and wrote at once, which held up the quorum the leader waits for
    /// (docs/performance.md, "Snapshots one replica at a time"). Tied to slot numbers, not to when a replica started, so
    /// restarts and installs do not bring two replicas into step; snapshots stay between half and one and a half
    /// triggers apart. A replica that is no voter (place -1) snapshots every <paramref name="every"/> slots.
    /// </summary>
    public static long SnapshotDueSlot(long last, long every, int place, int voters)
    {
        // A trigger too large to be reached (long.MaxValue turns snapshots by slots off) keeps no phases either.
        if (place < 0 || voters < 2 || every < 2 || every > long.MaxValue / 4)
        {
            return SaturatingAdd(last, every);
        }

        var earliest = (Int128)last + ((every + 1) / 2);
        var phase = (Int128)place * every / voters;
        var due = earliest + ((every - ((earliest + phase) % every)) % every);
        return due > long.MaxValue ? long.MaxValue : (long)due;
    }

    private long SnapshotDueSlot()
    {
        var voters = Core.CurrentConfiguration.Voters;
        var place = voters.Count - 1;
        while (place >= 0 && voters[place] != Core.Id)
        {
            place--;
        }

        return SnapshotDueSlot(_lastSnapshotSlot, _options.SnapshotEverySlots, place, voters.Count);
    }

    private void MaybeCompact()
    {
        // By bytes, the log grows by SnapshotEveryBytes or by the last snapshot's size, whichever is more: a state much
        // larger than the trigger (large values) would otherwise be written again in whole for every few puts, and
        // each snapshot costs more than the log it lets go. Only the slot trigger has phases (replicas' logs differ in
        // bytes, and a phase would take a snapshot before the log grew by the last snapshot's size).
        var due = _log.BytesSinceSnapshot >= Math.Max(_options.SnapshotEveryBytes, Core.SnapshotBytes)
            || Kv.AppliedSlot >= SnapshotDueSlot();
        if (!due || SnapshotsPaused || Kv.AppliedSlot <= _lastSnapshotSlot || Kv.SnapshotInProgress || _snapshotNotYetLogged || _log.SnapshotBusy ||
            (_log.BytesSinceSnapshot < _snapshotRetryAtLogBytes && Kv.AppliedSlot < _snapshotRetryAtSlot))
        {
            return;
        }

        StartBackgroundSnapshot();
    }

    /// <summary>A snapshot at the applied slot, serialised by the background work (which reports back through SnapshotSerialized).</summary>
    private void StartBackgroundSnapshot()
    {
        _lastSnapshotSlot = Kv.AppliedSlot;
        _background.SerializeSnapshot(Kv, Kv.BeginSnapshot(Core.SnapshotEnvelope(Kv.AppliedSlot), Core.Options.SnapshotBytesMax));
    }

    /// <summary>
    /// A snapshot over the largest a replica may write or a peer accept (measured before it was allocated): not taken.
    /// The log is kept (it grows, on disk and in memory, until keys are deleted and the history compacted), and every
    /// replica goes on serving; before, each one's storage refused the snapshot at the same slot and every replica
    /// stopped. Measured again at the next trigger (SnapshotEveryBytes more log, or SnapshotEverySlots more slots), so
    /// that one is taken soon after the state fits, and the state is not measured at every slot meanwhile.
    /// </summary>
    private void NoteSnapshotTooLarge(long slot, long bytes)
    {
        SnapshotsTooLarge++;
        _snapshotRetryAtLogBytes = SaturatingAdd(_log.BytesSinceSnapshot, _options.SnapshotEveryBytes);
        _snapshotRetryAtSlot = SaturatingAdd(Kv.AppliedSlot, _options.SnapshotEverySlots);
        _events.SnapshotTooLarge(slot, bytes, Core.Options.SnapshotBytesMax);
    }

    /// <summary>A snapshot was taken or installed: the next is due by the usual trigger alone.</summary>
    private void ClearSnapshotRetry() => (_snapshotRetryAtLogBytes, _snapshotRetryAtSlot) = (0, 0);

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    /// <summary>
    /// The background work finished serialising <paramref name="job"/> of <paramref name="stateMachine"/> (null data
    /// and a failure if it could not). A snapshot of a state machine replaced meanwhile (one installed from a peer) is moot.
    /// The data is lent to the core (<see cref="Replica.CompactEnveloped"/>). With <paramref name="owner"/> (memory of the
    /// shell's outside the collected heap) the driver disposes of it once neither the core nor the log holds the data
    /// any more: written, and replaced by the stored file's mapping, or by another snapshot, or never kept.
    /// </summary>
    public void SnapshotSerialized(KvStateMachine stateMachine, KvSnapshotJob job, ReadOnlyMemory<byte>? data, Exception? failure, double serializeMs,
        IDisposable? owner = null)
    {
        if (owner is not null)
        {
            // Freed at the end of this pass if nothing kept it (failed, moot, too large, or the core did not take it).
            _lentSnapshots.Add((data ?? ReadOnlyMemory<byte>.Empty, owner));
        }

        if (!ReferenceEquals(stateMachine, Kv))
        {
            return;
        }

        Kv.EndSnapshot(job);
        if (failure is KvSnapshotTooLargeException tooLarge)
        {
            NoteSnapshotTooLarge(job.Slot, tooLarge.Bytes);
            return;
        }

        if (failure is not null || data is not { } serialized)
        {
            throw new InvalidOperationException($"Serialising the snapshot of slot {job.Slot} failed: {failure?.Message}", failure);
        }

        if (serialized.Length > Core.Options.SnapshotBytesMax)
        {
            // Cannot happen while the state machine measures envelope and body together before it allocates; kept because
            // a snapshot over the limit reaching storage would stop the replica (as it stopped every replica once).
            NoteSnapshotTooLarge(job.Slot, serialized.Length);
            return;
        }

        ClearSnapshotRetry();
        _events.SnapshotTaken(job.Slot, serializeMs);
        Core.CompactEnveloped(job.Slot, serialized, job.PrefixBytes);
        _snapshotNotYetLogged = Core.SnapshotSlot == job.Slot;
    }

    /// <summary>Snapshot memory lent to the core with its owner, not yet disposed of (<see cref="SnapshotSerialized"/>).</summary>
    private readonly List<(ReadOnlyMemory<byte> Data, IDisposable Owner)> _lentSnapshots = [];

    /// <summary>The bug the simulator switches on to prove it catches a free too early: what the log holds is not asked.</summary>
    public bool SnapshotMemoryFreedEarlyBug { get; init; }

    /// <summary>The bytes of snapshot memory lent to the core and not yet given back.</summary>
    public long SnapshotMemoryHeldBytes { get; private set; }

    /// <summary>
    /// After every pass, when each Ready's records are with the log: disposes of lent snapshot memory that neither the
    /// core nor the log holds (by identity). No thread reads it then: the serialiser finished before the shell handed it
    /// over, the log's writer holds it while it writes, and peers were sent copies of it.
    /// </summary>
    private void FreeLentSnapshots()
    {
        var held = 0L;
        for (var i = _lentSnapshots.Count - 1; i >= 0; i--)
        {
            var (data, owner) = _lentSnapshots[i];
            if (!data.IsEmpty && (Core.HoldsSnapshotBytes(data) || (!SnapshotMemoryFreedEarlyBug && _log.HoldsSnapshotBytes(data))))
            {
                held += data.Length;
                continue;
            }

            owner.Dispose();
            _lentSnapshots.RemoveAt(i);
        }

        SnapshotMemoryHeldBytes = held;
    }

    /// <summary>On stopping, once the log has closed and no snapshot write runs: disposes of every lent snapshot.</summary>
    public void FreeSnapshotMemory()
    {
        foreach (var (_, owner) in _lentSnapshots)
        {
            owner.Dispose();
        }

        _lentSnapshots.Clear();
        SnapshotMemoryHeldBytes = 0;
    }

    /// <summary>A snapshot at the applied slot now, serialised at once (a simulator fault's step); false if there is nothing new.</summary>
    public bool CompactNow()
    {
        if (Kv.AppliedSlot <= Core.SnapshotSlot || Kv.SnapshotInProgress)
        {
            return false;
        }

        _lastSnapshotSlot = Kv.AppliedSlot;
        Core.Compact(Kv.AppliedSlot, Kv.Snapshot());
        _snapshotNotYetLogged = true;
        return true;
    }

    /// <summary>
    /// A snapshot at the applied slot started now, not at the next trigger, and serialised by the background work as
    /// the trigger's is (a simulator fault's step); false if one is under way or there is nothing new.
    /// </summary>
    public bool SnapshotInBackgroundNow()
    {
        if (SnapshotsPaused || Kv.AppliedSlot <= Math.Max(_lastSnapshotSlot, Core.SnapshotSlot) || Kv.SnapshotInProgress || _snapshotNotYetLogged || _log.SnapshotBusy)
        {
            return false;
        }

        StartBackgroundSnapshot();
        return true;
    }
}
