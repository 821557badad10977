using System.Runtime.InteropServices;
using Synod.Core;
using Synod.Kv;

namespace Synod.Driver;

/// <summary>Applying what a Ready says is chosen, and answering the requests that waited for it.</summary>
public sealed partial class ReplicaDriver
{
    /// <summary>
    /// Whether the state machine may keep its values as slices of the snapshot it restores: only a managed array (read
    /// at a restart, or assembled from a peer's chunks), never written again and alive while referenced. Not a mapped
    /// file (its pages could be read again from a device that no longer holds them, or fault the process; see
    /// docs/performance.md, "Restored values as slices of the snapshot") and not memory that is freed by hand.
    /// </summary>
    private static bool SlicesMayBeKept(ReadOnlyMemory<byte> snapshot) => MemoryMarshal.TryGetArray(snapshot, out _);

    /// <summary>
    /// The state machine restored from a snapshot's shell bytes as a driver with <paramref name="options"/> and
    /// <paramref name="bugs"/> restores it: pure, so a host may run it ahead on another thread (<see cref="RestoredAhead"/>).
    /// </summary>
    public static KvStateMachine RestoreStateMachine(ReadOnlyMemory<byte> data, DriverOptions options, ProtocolBugs bugs) =>
        KvStateMachine.Restore(data, SlicesMayBeKept(data), options.SessionsMax, KvBugsOf(bugs), options.History);

    private static byte[][] CopiesOf(byte[][] commands) => [.. commands.Select(command => (byte[])command.Clone())];

    private void Apply(Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            _events.SnapshotInstalling(ready.Snapshot.Slot, ready.Snapshot.Data.Length);
            Kv = _options.RestoredAhead?.Take(ready.Snapshot.Data) ?? RestoreStateMachine(ready.Snapshot.Data, _options, Core.Options.Bugs);

            // Another state: a leader measuring leases starts again from it (every lease a full TTL from now).
            _leaseServingBallot = null;
            _lastSnapshotSlot = ready.Snapshot.Slot;
            ClearSnapshotRetry();
            _events.SnapshotInstalled(ready.Snapshot.Slot, Kv.Count, Core.Role);
            foreach (var ((clientId, sequence), write) in _writeWaiters)
            {
                write.MayHaveBeenAppliedUnseen = true;
                if (Kv.HasApplied(clientId, sequence))
                {
                    // In the installed state already: its growth is in DataBytes, so reserving it too would count it twice.
                    QuotaReserved -= write.QuotaReserved;
                    write.QuotaReserved = 0;
                }
            }

            RecheckWatchers();
        }

        foreach (var entry in ready.Committed)
        {
            _events.Applied(entry.Slot, entry.Commands);
            var reused = (Core.Options.Bugs & ProtocolBugs.CommandArraysReused) != 0 ? CopiesOf(entry.Commands) : null;
            foreach (var applied in Kv.ApplySlot(entry.Slot, KvCommandsOf(reused ?? entry.Commands)))
            {
                AnswerWrite(applied, entry.Slot);
            }

            foreach (var command in reused ?? [])
            {
                // The bug: arrays handed to the state machine are written over afterwards (copies, which only the state
                // machine holds, so that what the log and the other replicas hold stays as it was).
                Array.Fill(command, (byte)'#');
            }

            RecheckWatchers();
        }

        AnswerMembership(ready);
        NoteNewGrants();
        foreach (var readId in ready.DroppedReads)
        {
            if (_readWaiters.Remove(readId, out var dropped))
            {
                dropped.Fail(ReplicaFailure.NoLeader);
            }
        }

        foreach (var state in ready.ReadStates)
        {
            if (_readWaiters.Remove(state.ReadId, out var read))
            {
                _readsAwaitingApply.Add((state.Index, read));
            }
        }

        AnswerReadsApplied();
        if (ready.Snapshot is not null || ready.Committed.Count > 0)
        {
            PumpWatchers(tick: false);
        }

        MaybeCompact();
    }

    private void AnswerWrite(AppliedCommand applied, long slot)
    {
        if (_writeWaiters.Remove((applied.ClientId, applied.Sequence), out var write))
        {
            QuotaReserved -= write.QuotaReserved;
            if (write.MayHaveBeenAppliedUnseen && applied.Status is KvStatus.SessionExpired or KvStatus.UnknownClient)
            {
                // This copy was refused, but an earlier one may have been applied before the session went.
                foreach (var waiter in write.Waiters)
                {
                    if (!waiter.Abandoned)
                    {
                        waiter.Fail(ReplicaFailure.WriteOutcomeUnknown);
                    }
                }

                return;
            }

            var outcome = new WriteOutcome(applied.Status, slot, applied.Duplicate, applied.RegisteredClientId, applied.Revision, applied.Entry, applied.Txn);
            foreach (var waiter in write.Waiters)
            {
                if (!waiter.Abandoned)
                {
                    waiter.Complete(outcome);
                }
            }
        }
    }

    private void AnswerReadsApplied()
    {
        if (_readsAwaitingApply.Count == 0)
        {
            return;
        }

        _readsAwaitingApply.RemoveAll(read =>
        {
            if (read.Index > Kv.AppliedSlot)
            {
                return false;
            }

            read.Read.Answer(Kv, 0);
            return true;
        });
    }
}
