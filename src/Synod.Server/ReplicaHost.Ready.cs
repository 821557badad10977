using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Kv;

namespace Synod.Server;

/// <summary>Carrying out the core's Readies: persist, send, report persisted, apply, answer.</summary>
public sealed partial class ReplicaHost
{
    private void Flush()
    {
        if (_core.Role != _lastRole)
        {
            _lastRole = _core.Role;
            _logger.LogInformation("replica {Id}: now {Role} (ballot {Ballot}, promised {Promised}, commit index {Commit})",
                Id, _core.Role.ToString().ToLowerInvariant(), _core.Ballot, _core.Promised, _core.CommitIndex);
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
                // The core's rule: whatever a message promises is durable before the message leaves.
                _log.Append(ready.PersistOps);
            }

            foreach (var message in ready.Messages)
            {
                _peers.Send(message);
            }

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
            _kv = KvStateMachine.Restore(ready.Snapshot.Data);
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
        if (_writeWaiters.Remove((applied.ClientId, applied.Sequence), out var waiters))
        {
            var outcome = new WriteOutcome(applied.Status, slot, applied.Duplicate);
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult(outcome);
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

            read.Completion.TrySetResult(new ReadOutcome(Lookup(read.Key), _kv.AppliedSlot, 0));
            return true;
        });
    }

    private void MaybeCompact()
    {
        if (_kv.AppliedSlot - _lastSnapshotSlot < _options.SnapshotEverySlots)
        {
            return;
        }

        _lastSnapshotSlot = _kv.AppliedSlot;
        _core.Compact(_kv.AppliedSlot, _kv.Snapshot());
        _writeWaiters.RemoveAllCompleted();
    }
}
