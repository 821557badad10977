using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// Leadership handover (docs/protocol.md, "Handover"; Raft's leadership transfer, for Multi-Paxos): the leader stops
/// putting new commands into slots, waits until the target voter has told it that it knows every slot this leader
/// proposed chosen, and then sends it <see cref="TimeoutNow"/>. The target stands at once, without pre-vote or the
/// follower timeout, and its Prepare says it stands on a handover, so replicas that still hear the old leader (the old
/// leader too) promise at once instead of deferring to it. A handover that has not ended within ElectionTimeoutTicks is
/// given up, and the leader goes on proposing. Like every election this rests on ballots for safety: a handover that
/// goes wrong costs time, never a chosen value.
/// </summary>
public sealed partial class Replica
{
    private int? _handoverTarget;
    private long _handoverSinceTick;
    private long _timeoutNowSentTick;

    /// <summary>The voter this leader is handing its leadership to, or null.</summary>
    public int? HandoverTarget => _handoverTarget;

    /// <summary>Handovers this replica started as leader, since it started.</summary>
    public long HandoversStarted { get; private set; }

    /// <summary>Handovers this replica started and gave up (the target did not take over in time), since it started.</summary>
    public long HandoversGivenUp { get; private set; }

    /// <summary>Why the last handover this replica started was given up, or null if it was not (or is under way).</summary>
    public string? LastHandoverFailure { get; private set; }

    /// <summary>
    /// As leader, hands leadership to voter <paramref name="target"/>: returns null once the handover is under way, or
    /// the reason it cannot be (not the leader, not a voter, not heard). New commands wait in the proposal queue
    /// until it ends; the old leader passes them on to the new one.
    /// </summary>
    public string? HandOver(int target)
    {
        if (_role != ReplicaRole.Leader)
        {
            return $"replica {Id} does not lead";
        }

        if (target == Id)
        {
            return $"replica {Id} leads already";
        }

        if (_handoverTarget is int under)
        {
            // Asked again (a second `member remove` of this leader): the handover under way goes on, its clock untouched.
            return under == target ? null : $"a handover to replica {under} is under way";
        }

        if (!CurrentConfiguration.IsVoter(target) || !LatestConfiguration.IsVoter(target))
        {
            return $"replica {target} is no voter of the configuration in effect and the latest one";
        }

        if (!HeardRecently(target))
        {
            return $"replica {target} has not been heard within the election timeout ({_options.ElectionTimeoutTicks} ticks)";
        }

        if (_peerReadiness.GetValueOrDefault(target).CannotLead() &&
            (_options.Bugs & ProtocolBugs.PreferredLeaderIgnoresReadiness) == 0)
        {
            return $"replica {target} says it may not lead now: {Describe(_peerReadiness[target])}";
        }

        _handoverTarget = target;
        LastHandoverFailure = null;
        _handoverSinceTick = _tick;
        _timeoutNowSentTick = long.MinValue / 2;
        _handoverProbedCommit = -1;
        HandoversStarted++;
        PushHandover();
        return null;
    }

    /// <summary>As leader, each tick: tell the target to stand once it knows everything chosen, or give the handover up.</summary>
    private void TickHandover()
    {
        if (_handoverTarget is not int target)
        {
            return;
        }

        var why = _tick - _handoverSinceTick >= _options.ElectionTimeoutTicks
            ? $"replica {target} did not take over within {_options.ElectionTimeoutTicks} ticks (it knows slots up to {_peerCommitIndex.GetValueOrDefault(target)} chosen, this leader up to {_commitIndex})"
            : !CurrentConfiguration.IsVoter(target) || !LatestConfiguration.IsVoter(target) ? $"replica {target} is no voter any more"
            : !HeardWithin(target, _options.ElectionTimeoutTicks / 2)
                ? $"replica {target} has fallen silent (nothing heard for {_options.ElectionTimeoutTicks / 2} ticks)"
            : _peerReadiness.GetValueOrDefault(target).CannotLead() &&
                (_options.Bugs & ProtocolBugs.PreferredLeaderIgnoresReadiness) == 0
                ? $"replica {target} says it may not lead now: {Describe(_peerReadiness[target])}"
            : null;
        if (why is not null)
        {
            LastHandoverFailure = why + $"; replica {Id} leads on";
            _handoverTarget = null;
            NotePreferredOutcome(null);
            HandoversGivenUp++;
            return;
        }

        PushHandover();
    }

    /// <summary>The commit index at which this leader last asked the handover's target for its own (0: not yet).</summary>
    private long _handoverProbedCommit = -1;

    /// <summary>
    /// As leader with a handover under way, after every tick and every message: once everything this leader put into a
    /// slot is chosen, and the target said it knows so (heartbeat acknowledgements carry its commit index), tell it to
    /// stand; its phase 1 then finds nothing to re-propose, and it serves at once. Until the target says so, a heartbeat
    /// (which carries this leader's commit index) is sent at once, once per commit index, rather than at the next
    /// heartbeat interval: the handover then takes a few round trips, not a few heartbeat intervals.
    /// </summary>
    private void PushHandover()
    {
        // Slots phase 1 recovered but not yet proposed again count as unfinished too: the target's phase 1 would have
        // them to re-propose.
        if (_role != ReplicaRole.Leader || _handoverTarget is not int target || _inFlight.Count != 0 || _nextSlot - 1 > _commitIndex || _nextSlot <= _recoveryEnd)
        {
            return;
        }

        if (_peerCommitIndex.GetValueOrDefault(target) >= _commitIndex)
        {
            if (_tick - _timeoutNowSentTick >= _options.HeartbeatIntervalTicks)
            {
                _timeoutNowSentTick = _tick;
                Send(new TimeoutNow(Id, target, _ballot, _commitIndex));
            }
        }
        else if (_handoverProbedCommit != _commitIndex)
        {
            _handoverProbedCommit = _commitIndex;
            SendHeartbeat();
        }
    }

    private void OnTimeoutNow(TimeoutNow message)
    {
        // Only from the leader this replica follows, at the ballot it follows, knowing exactly the slots chosen that the
        // leader knew when it sent it: a late one (from an earlier leadership, or from a handover given up since, after
        // which the leader chose more) is ignored.
        if (_role != ReplicaRole.Follower || _leaderId != message.From || message.Ballot < _promised || message.CommitIndex != _commitIndex)
        {
            return;
        }

        // A replica that may not vote (rebuilding, or no voter), that is stopping, or that hears no quorum (its candidacy
        // would fail, after the leader had promised it and stepped aside) does not stand, and says why at once: the
        // leader gives the handover up on that heartbeat and leads on.
        if (MayNotLead() is { } why && (why != LeadReadiness.HearsNoQuorum || (_options.Bugs & ProtocolBugs.HandoverIgnoresQuorum) == 0))
        {
            Send(new Heartbeat(Id, message.From, _promised, false, _commitIndex, CurrentReadRound, 0, UpTicksToSay, why, _snapshotSlot));
            return;
        }

        ClearPreVote();
        StartElection(handover: true);
        if ((_options.Bugs & ProtocolBugs.HandoverSkipsPhase1) != 0 && _role == ReplicaRole.Candidate)
        {
            // The bug: "the leader said I know everything chosen", so every voter counts as having promised.
            BecomeLeader();
            _phase1Promisers.UnionWith(_members);
        }
    }
}
