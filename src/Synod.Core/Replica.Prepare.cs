using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Phase 1, once per leadership: a candidate asks every acceptor to promise its ballot for all slots it does
/// not know chosen, learns what they accepted there, and re-proposes the highest-ballot value of each slot
/// (a no-op where none was accepted) before any new command.
/// </summary>
public sealed partial class Replica
{
    private readonly Dictionary<int, Promise> _promises = [];
    private Prepare? _deferredPrepare;
    private long _prepareFromSlot;

    /// <summary>As leader: the last slot this leadership's phase 1 re-proposed; new commands go after it.</summary>
    private long _phase1Slot;

    private void OnPrepare(Prepare prepare)
    {
        NoteBallot(prepare.Ballot);
        if (prepare.Ballot < _promised)
        {
            Send(new Reject(Id, prepare.From, prepare.Ballot, _promised));
            return;
        }

        if (_rebuilding)
        {
            // A non-voter: its promise could contradict one it made before it lost its state (Replica.Rebuild.cs).
            return;
        }

        // Stickiness (liveness only): while a leader is heard, or while this replica leads, promise nobody else.
        // The prepare is deferred, not dropped: once the leader's lease lapses it is answered at once, so the
        // candidate that noticed the failure first is not overtaken by one that waited longer. A candidate the leader
        // handed over to is answered at once (Replica.Handover.cs).
        if (prepare.From != Id && !prepare.Handover && (_role == ReplicaRole.Leader || (HeardLeaderRecently && _leaderId != prepare.From)))
        {
            if (_deferredPrepare is null || prepare.Ballot > _deferredPrepare.Ballot)
            {
                _deferredPrepare = prepare;
            }

            return;
        }

        if (prepare.Ballot > _promised)
        {
            _promised = prepare.Ballot;
            _ready.PersistOps.Add(new PromiseOp(prepare.Ballot));
        }

        if (_role != ReplicaRole.Follower && prepare.Ballot > _ballot)
        {
            BecomeFollower($"it promised replica {prepare.From}'s higher ballot {prepare.Ballot}");
        }

        Send(BuildPromise(prepare));
    }

    /// <summary>Answers a prepare that stickiness held back, once no leader is heard any more.</summary>
    private void AnswerDeferredPrepare()
    {
        if (_deferredPrepare is null || _role == ReplicaRole.Leader || HeardLeaderRecently)
        {
            return;
        }

        var prepare = _deferredPrepare;
        _deferredPrepare = null;
        if (HeardRecently(prepare.From))
        {
            OnPrepare(prepare);
        }
    }

    private Promise BuildPromise(Prepare prepare)
    {
        // Over the entries present, never over a range of slot numbers: a slot far ahead (a bug, a damaged peer) must
        // not make this loop run for ever.
        var from = Math.Max(prepare.FromSlot, _snapshotSlot + 1);
        var slots = new List<long>();
        foreach (var slot in _log.Keys)
        {
            if (slot >= from)
            {
                slots.Add(slot);
            }
        }

        slots.Sort();
        var entries = new List<PromisedEntry>();
        var bytes = 0L;
        var truncated = false;
        foreach (var slot in slots)
        {
            var entry = _log[slot];
            var size = BatchBytes(entry.Commands);
            if (entries.Count == _options.PromiseEntriesMax || (entries.Count > 0 && bytes + size > _options.PromiseBytesMax))
            {
                truncated = true;
                break;
            }

            entries.Add(new PromisedEntry(slot, entry.AcceptedBallot, entry.Commands, entry.Chosen));
            bytes += size;
        }

        return new Promise(Id, prepare.From, prepare.Ballot, prepare.FromSlot, entries, _commitIndex, _snapshotSlot, truncated,
            IncarnationOf(Id), new Dictionary<int, long>(_incarnations));
    }

    private static long BatchBytes(byte[][] commands)
    {
        var bytes = 0L;
        foreach (var command in commands)
        {
            bytes += command.Length;
        }

        return bytes;
    }

    private void OnPromise(Promise promise)
    {
        if (_role == ReplicaRole.Leader && promise.Ballot == _ballot)
        {
            OnLatePromise(promise);
            return;
        }

        if (_role != ReplicaRole.Candidate || promise.Ballot != _ballot || promise.FromSlot != _prepareFromSlot)
        {
            // Not an answer to this candidacy's Prepare (one ballot, one Prepare, so a correct acceptor never sends this).
            return;
        }

        if (promise.SnapshotSlot >= _prepareFromSlot || promise.Truncated || ReportsBeyondWindow(promise))
        {
            // That acceptor forgot (compacted) or could not list chosen slots this candidate lacks: no-op-filling
            // them would be unsafe, so catch up first and stand again later. A slot beyond SlotsBeyondCommitMax counts
            // the same: this candidate is too far behind to fill the slots up to it, and catching up brings it closer.
            BecomeFollower($"replica {promise.From}'s promise cannot list every slot from {_prepareFromSlot} (snapshot at {promise.SnapshotSlot}{(promise.Truncated ? ", truncated" : "")}); catching up first");
            RequestCatchUp(promise.From);
            return;
        }

        _promises[promise.From] = promise;
        DiscardPromisesOfLostLives();
        if (IsQuorumFrom(_prepareFromSlot, _promises.Keys))
        {
            BecomeLeader();
        }
    }

    /// <summary>Whether a promise reports a slot further beyond this candidacy's commit index than a leader may propose (V5).</summary>
    private bool ReportsBeyondWindow(Promise promise)
    {
        foreach (var entry in promise.Entries)
        {
            if (entry.Slot - (_prepareFromSlot - 1) > _options.SlotsBeyondCommitMax)
            {
                return true;
            }
        }

        return false;
    }

    private void BecomeLeader()
    {
        RoleReason = $"a quorum promised ballot {_ballot} ({_promises.Count} promises)";
        NotePreferredOutcome(Id);
        _role = ReplicaRole.Leader;
        _roleSinceTick = _tick;
        _leaderId = Id;
        _inFlight.Clear();
        foreach (var member in _members)
        {
            _lastAckTick[member] = _tick;
        }

        _phase1Promisers.Clear();
        _phase1Promisers.UnionWith(_promises.Keys);
        _latePrepareFromSlot = 0;
        var recovered = RecoverAcceptedValues(out var maxSlot);
        _phase1Slot = Math.Max(maxSlot, _commitIndex);
        // I15: never below the snapshot: those slots are chosen and gone from the log, and a promise's silence about
        // them does not make them free.
        var from = (_options.Bugs & ProtocolBugs.CandidateInstallsSnapshot) == 0 ? Math.Max(_prepareFromSlot, _snapshotSlot + 1) : _prepareFromSlot;
        _recovered.Clear();
        foreach (var (slot, entry) in recovered)
        {
            if (slot >= from)
            {
                _recovered[slot] = entry;
            }
        }

        // Every slot up to the last one reported is proposed again (a no-op where none was accepted) before any new
        // command: now as far as the configuration is known (α), the rest as the commit index advances (I22).
        _recoveryEnd = _phase1Slot;
        _nextSlot = from;
        ProposeRecovered();

        _promises.Clear();
        SendHeartbeat();
    }

    /// <summary>For every slot any promise reported: a value known chosen, else the value accepted at the highest ballot.</summary>
    private Dictionary<long, PromisedEntry> RecoverAcceptedValues(out long maxSlot)
    {
        var recovered = new Dictionary<long, PromisedEntry>();
        maxSlot = 0;
        foreach (var member in _members)
        {
            if (!_promises.TryGetValue(member, out var promise))
            {
                continue;
            }

            foreach (var entry in promise.Entries)
            {
                maxSlot = Math.Max(maxSlot, entry.Slot);
                if (!recovered.TryGetValue(entry.Slot, out var best) || Outranks(entry, best))
                {
                    recovered[entry.Slot] = entry;
                }
            }
        }

        return recovered;
    }

    private static bool Outranks(PromisedEntry candidate, PromisedEntry current) =>
        !current.Chosen && (candidate.Chosen || candidate.Ballot > current.Ballot);
}
