using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Phase 2, per slot: the leader batches waiting commands into slots, keeps up to PipelineSlotsMax of them in
/// flight at once (only UnfilledSlotsInFlightMax of them with room left), and declares a slot chosen when a quorum
/// has accepted it at the leader's ballot.
/// Acceptors accept at any ballot not below their promise.
/// </summary>
public sealed partial class Replica
{
    private readonly Queue<byte[]> _proposals = new();

    /// <summary>The tick each command in <see cref="_proposals"/> arrived at, in the same order.</summary>
    private readonly Queue<long> _proposalTicks = new();

    /// <summary>Bytes of the commands in <see cref="_proposals"/>.</summary>
    private long _proposalBytes;
    private readonly SortedDictionary<long, InFlightSlot> _inFlight = [];
    private long _nextSlot;

    private void FlushProposals()
    {
        if (_proposals.Count == 0)
        {
            return;
        }

        if (_role == ReplicaRole.Leader && _handoverTarget is null)
        {
            // Never further than SlotsBeyondCommitMax beyond the commit index (V5), so acceptors can tell a sane slot.
            while (_proposals.Count > 0 && _nextSlot > _recoveryEnd && _inFlight.Count < _options.PipelineSlotsMax && MayProposeAt(_nextSlot) &&
                (_inFlight.Count < _options.UnfilledSlotsInFlightMax || WaitingFillASlot()))
            {
                ProposeSlot(_nextSlot++, TakeBatch());
            }
        }
        else if (_leaderId is int leader && leader != Id)
        {
            while (_proposals.Count > 0)
            {
                Send(new Forward(Id, leader, TakeBatch()));
            }
        }

        // With no leader known, commands wait here (bounded) until one is.
    }

    private byte[][] TakeBatch()
    {
        var batch = new List<byte[]>();
        var bytes = 0L;
        while (_proposals.Count > 0 && batch.Count < _options.BatchCommandsMax)
        {
            var next = _proposals.Peek();
            if (batch.Count > 0 && bytes + next.Length > _options.BatchBytesMax)
            {
                break;
            }

            batch.Add(DequeueProposal());
            bytes += next.Length;
        }

        return [.. batch];
    }

    /// <summary>Whether the commands waiting would fill a slot: by count, or by bytes.</summary>
    private bool WaitingFillASlot() => _proposals.Count >= _options.BatchCommandsMax || _proposalBytes >= _options.BatchBytesMax;

    private byte[] DequeueProposal()
    {
        _proposalTicks.Dequeue();
        var command = _proposals.Dequeue();
        _proposalBytes -= command.Length;
        return command;
    }

    /// <summary>
    /// Drops commands that waited for a leader longer than ProposalWaitTicksMax. Their clients have given up (with
    /// "outcome unknown") and may have retried elsewhere; proposing them much later, after a partition heals, could
    /// apply a write its client no longer expects.
    /// </summary>
    private void ExpireProposals()
    {
        while (_proposalTicks.Count > 0 && _tick - _proposalTicks.Peek() > _options.ProposalWaitTicksMax)
        {
            DequeueProposal();
            ExpiredProposals++;
        }
    }

    private void ProposeSlot(long slot, byte[][] commands)
    {
        if ((_options.Bugs & ProtocolBugs.ConfigurationAtOnce) != 0)
        {
            TakeUpAtOnce(slot, commands);
        }

        _inFlight[slot] = new InFlightSlot(commands, _tick);
        SlotsProposed++;
        var ballot = _ballot;
        SendToPeers(to => new Accept(Id, to, ballot, slot, commands, _commitIndex));

        // An Accept vouches for nothing about the sender's own acceptor, so the leader takes up its own acceptance only
        // once this Ready's messages have left (Persisted): its fsync then overlaps the followers' instead of holding
        // the Accepts back. Its Accepted to itself still waits for that fsync (the self inbox), as every vote does.
        _selfInbox.Add((_ready.Number, new Accept(Id, Id, ballot, slot, commands, _commitIndex)));
    }

    private void RetransmitAccepts()
    {
        foreach (var (slot, inFlight) in _inFlight)
        {
            if (_tick - inFlight.SentTick < _options.RetransmitTicks)
            {
                continue;
            }

            inFlight.SentTick = _tick;
            foreach (var member in _members)
            {
                if (member != Id && !inFlight.AcceptedBy.Contains(member))
                {
                    Send(new Accept(Id, member, _ballot, slot, inFlight.Commands, _commitIndex));
                }
            }
        }
    }

    private void OnForward(Forward forward)
    {
        // Only a leader takes forwarded commands; passing them on again could bounce them between two
        // replicas with different views of the leader. The client retries if this one is dropped.
        if (_role != ReplicaRole.Leader)
        {
            return;
        }

        foreach (var command in forward.Commands)
        {
            Propose(command);
        }
    }

    private void OnAccept(Accept accept)
    {
        NoteBallot(accept.Ballot);
        if (accept.Ballot < _promised)
        {
            Send(new Reject(Id, accept.From, accept.Ballot, _promised));
            return;
        }

        if (_rebuilding)
        {
            // A non-voter accepts nothing (Replica.Rebuild.cs); it learns chosen values from commits and catch-up.
            return;
        }

        Invariant.Check(
            accept.Ballot >= _promised,
            "an acceptor never accepts below its promise",
            $"replica {Id} promised {_promised} and was about to accept slot {accept.Slot} at {accept.Ballot}");
        var raised = accept.Ballot > _promised;
        _promised = accept.Ballot;
        NoteLeader(accept.From, accept.Ballot);
        NotePeerCommit(accept.From, accept.CommitIndex);
        _log.TryGetValue(accept.Slot, out var existing);
        var alreadyChosen = accept.Slot <= _snapshotSlot || existing is { Chosen: true };
        if (existing is { Chosen: true } && !existing.AcceptedBallot.IsZero && accept.Ballot >= existing.AcceptedBallot)
        {
            // Only at or above the ballot this replica accepted the chosen value at (which is the ballot it was chosen
            // at) must an Accept carry the same value. A delayed Accept from a lower ballot may carry another value:
            // it can no longer gather a quorum (the choosing quorum promised above it), so acknowledging it is harmless.
            CheckSameChosen(accept.Slot, existing.Commands, accept.Commands, $"in an Accept from replica {accept.From} at {accept.Ballot}");
        }

        if (alreadyChosen && raised)
        {
            _ready.PersistOps.Add(new PromiseOp(accept.Ballot));
        }

        if (!alreadyChosen && existing is not null && existing.AcceptedBallot == accept.Ballot)
        {
            // The same Accept again (a retransmission): one ballot proposes one value per slot, so it is accepted already.
            // Its record needs no second write: this Ready's messages leave only after every earlier Ready is durable.
        }
        else if (!alreadyChosen)
        {
            var chosenAtOnce = (_options.Bugs & ProtocolBugs.ApplyBeforeChosen) != 0;
            _log[accept.Slot] = new LogEntry(accept.Ballot, accept.Commands, chosenAtOnce);
            _maxLogSlot = Math.Max(_maxLogSlot, accept.Slot);
            _ready.PersistOps.Add(new AcceptOp(accept.Slot, accept.Ballot, accept.Commands));
            if (chosenAtOnce)
            {
                AdvanceCommit();
            }
        }

        // A slot already known chosen holds the same value at every later ballot, so acknowledging it is safe.
        Send(new Accepted(Id, accept.From, accept.Ballot, accept.Slot));
        LearnCommit(accept.Ballot, accept.CommitIndex, accept.From);
    }

    private void OnAccepted(Accepted accepted)
    {
        if (accepted.From != Id)
        {
            _lastAckTick[accepted.From] = _tick;
            _heardAckTick[accepted.From] = _tick;
        }

        if (_role != ReplicaRole.Leader || accepted.Ballot != _ballot || !_inFlight.TryGetValue(accepted.Slot, out var inFlight))
        {
            return;
        }

        inFlight.AcceptedBy.Add(accepted.From);
        if (IsQuorumAt(accepted.Slot, inFlight.AcceptedBy))
        {
            _inFlight.Remove(accepted.Slot);
            MarkChosen(accepted.Slot, inFlight.Commands, _ballot);
            AdvanceCommit();
        }
    }
}
