using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Server;

/// <summary>
/// Carrying out the core's Readies: persist, send, report persisted, apply, answer. Group commit: while one fsync
/// runs, inputs queue up; the loop then steps them all and makes their records durable with the next single fsync.
/// Snapshots the replica takes itself are written on another thread while the loop goes on serving (the log still
/// holds everything they cover); the storage writes a snapshot installed from a peer at once, inside Append, since
/// nothing else on disk holds what it covers.
/// </summary>
public sealed partial class ReplicaHost
{
    private Task<Exception?>? _snapshotWriting;
    private SnapshotWrite? _snapshotInFlight;
    private double _snapshotSerializeMs;
    private long _snapshotStarted;
    private long _failedCandidaciesLogged;

    private void Flush()
    {
        ReproposeWritesOnLeaderChange();
        if (_core.Role != _lastRole)
        {
            _lastRole = _core.Role;
            _logger.LogInformation("replica {Id}: now {Role} (ballot {Ballot}, promised {Promised}, commit index {Commit})",
                Id, _core.Role.ToString().ToLowerInvariant(), _core.Ballot, _core.Promised, _core.CommitIndex);
        }

        if (_core.FailedCandidacies != _failedCandidaciesLogged)
        {
            // One line per failed candidacy: they come at most once per election timeout.
            _failedCandidaciesLogged = _core.FailedCandidacies;
            _logger.LogInformation("replica {Id}: {Failure}", Id, _core.LastCandidacyFailure);
        }

        while (true)
        {
            var ready = _core.TakeReady();
            if (ready.IsEmpty && _core.SelfMessagesWaiting == 0)
            {
                return;
            }

            if (ready.PersistOps.Count > 0)
            {
                // The core's rule: whatever a message promises is durable before the message leaves. Records of what is
                // already chosen promise nothing: they are written now and made durable by the next fsync, so a commit
                // is answered without waiting for a disk.
                _storage.Append(ready.PersistOps);
                if (ready.MustSyncBeforeSending)
                {
                    _storage.Sync();
                    StartSnapshotWrite();
                }
            }

            _peers.Send(ready.Messages);

            _core.Persisted(ready.Number);
            Apply(ready);
            if (ready.IsEmpty)
            {
                return;
            }
        }
    }

    private void Apply(Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            _kv = KvStateMachine.Restore(ready.Snapshot.Data, _options.SessionsMax);
            _lastSnapshotSlot = ready.Snapshot.Slot;
            _logger.LogInformation("replica {Id}: installed a snapshot at slot {Slot} ({Keys} keys)", Id, ready.Snapshot.Slot, _kv.Count);
        }

        foreach (var entry in ready.Committed)
        {
            foreach (var applied in _kv.ApplySlot(entry.Slot, entry.Commands))
            {
                AnswerWrite(applied, entry.Slot);
            }
        }

        foreach (var readId in ready.DroppedReads)
        {
            if (_readWaiters.Remove(readId, out var dropped))
            {
                dropped.Completion.TrySetException(new NoLeaderException());
            }
        }

        foreach (var state in ready.ReadStates)
        {
            if (_readWaiters.Remove(state.ReadId, out var read))
            {
                _readsAwaitingApply.Add((state.Index, read.Key, read.Completion));
            }
        }

        AnswerReadsApplied();
        MaybeCompact();
    }

    private void AnswerWrite(AppliedCommand applied, long slot)
    {
        if (_writeWaiters.Remove((applied.ClientId, applied.Sequence), out var write))
        {
            var outcome = new WriteOutcome(applied.Status, slot, applied.Duplicate, applied.RegisteredClientId);
            foreach (var waiter in write.Waiters)
            {
                AnswerLater(waiter, outcome);
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
            if (read.Index > _kv.AppliedSlot)
            {
                return false;
            }

            AnswerLater(read.Completion, new ReadOutcome(Lookup(read.Key), _kv.AppliedSlot, 0));
            return true;
        });
    }

    private void MaybeCompact()
    {
        var due = _kv.AppliedSlot - _lastSnapshotSlot >= _options.SnapshotEverySlots || _storage.BytesSinceSnapshot >= _options.SnapshotEveryBytes;
        if (!due || _kv.AppliedSlot <= _lastSnapshotSlot || _kv.SnapshotInProgress || _snapshotWriting is not null || _storage.HasPendingSnapshot)
        {
            return;
        }

        // The state is frozen here (writes go to an overlay meanwhile) and serialised on another thread, so the loop
        // never waits for a pass over the whole state; the file is then written on another thread too.
        _snapshotStarted = TimeProvider.System.GetTimestamp();
        _lastSnapshotSlot = _kv.AppliedSlot;
        var kv = _kv;
        var job = kv.BeginSnapshot();
        _ = Task.Run(() =>
        {
            byte[]? data = null;
            Exception? failure = null;
            try
            {
                data = job.Serialize();
            }
            catch (Exception e)
            {
                failure = e;
            }

            _inputs.Writer.TryWrite(new SnapshotSerializedInput(kv, job, data, failure));
        });
        _writeWaiters.RemoveAllCompleted();
    }

    private void FinishSnapshotSerialize(SnapshotSerializedInput serialized)
    {
        if (!ReferenceEquals(serialized.StateMachine, _kv))
        {
            // A snapshot from a peer replaced the state machine meanwhile; this one is moot.
            return;
        }

        _kv.EndSnapshot(serialized.Job);
        if (serialized.Failure is not null || serialized.Data is null)
        {
            throw new InvalidOperationException($"Serialising the snapshot of slot {serialized.Job.Slot} failed: {serialized.Failure?.Message}", serialized.Failure);
        }

        _snapshotSerializeMs = TimeProvider.System.GetElapsedTime(_snapshotStarted).TotalMilliseconds;
        _core.Compact(serialized.Job.Slot, serialized.Data);
    }

    /// <summary>Hands the pending snapshot, if any, to another thread; the loop hears back through a SnapshotWrittenInput.</summary>
    private void StartSnapshotWrite()
    {
        if (_snapshotInFlight is not null || _storage.TakePendingSnapshot() is not { } write)
        {
            return;
        }

        _snapshotInFlight = write;
        _snapshotWriting = Task.Run(() =>
        {
            Exception? failure = null;
            try
            {
                write.Run();
            }
            catch (Exception e)
            {
                failure = e;
            }

            _inputs.Writer.TryWrite(new SnapshotWrittenInput(write, failure));
            return failure;
        });
    }

    private void FinishSnapshotWrite(SnapshotWrittenInput written)
    {
        if (ReferenceEquals(written.Write, _snapshotInFlight))
        {
            CompleteSnapshotWrite(written.Write, written.Failure);
            StartSnapshotWrite();
        }
    }

    private void CompleteSnapshotWrite(SnapshotWrite write, Exception? failure)
    {
        _snapshotInFlight = null;
        _snapshotWriting = null;
        if (failure is not null)
        {
            // The log still holds everything, but a disk that cannot take a snapshot will soon fail the log too.
            throw new StorageException($"Writing the snapshot of slot {write.Slot} to {write.Path} failed: {failure.Message}", failure);
        }

        _storage.CompleteSnapshot(write);
        _logger.LogInformation(
            "replica {Id}: snapshot at slot {Slot} written ({Bytes} bytes; {SerializeMs:F0} ms to serialise and {TotalMs:F0} ms in all, on other threads while serving); the log is now {Segments} segments, {WalBytes} bytes",
            Id, write.Slot, write.DataBytes, _snapshotSerializeMs, TimeProvider.System.GetElapsedTime(_snapshotStarted).TotalMilliseconds, _storage.SegmentCount, _storage.WalBytes);
    }
}
