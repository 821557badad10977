using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// Leader preference and liveness. The preferred leader is the live replica with the largest id: a follower
/// that has not heard a valid leader for ElectionTimeoutTicks waits a further ElectionStaggerTicks for every
/// live replica with a larger id, so the largest live one stands first. Leadership is sticky: a replica stands
/// only after a quorum answered a pre-vote (Replica.PreVote.cs), and a replica that hears a valid leader neither
/// grants pre-votes nor promises to anyone else, so a larger id that comes back follows the sitting leader instead
/// of deposing it. None of this matters for safety, which rests on ballots alone.
/// </summary>
public sealed partial class Replica
{
    private ReplicaRole _role = ReplicaRole.Follower;
    private Ballot _ballot;
    private int? _leaderId;
    private long _maxRoundSeen;
    private long _roleSinceTick;
    private long _lastLeaderContactTick;
    private int _electionJitter;
    private readonly Dictionary<int, long> _lastAckTick = [];
    private readonly HashSet<int> _heardSinceStart = [];
    private bool _startupOver;

    private bool HeardLeaderRecently =>
        _leaderId is not null && _tick - _lastLeaderContactTick < _options.ElectionTimeoutTicks;

    private void TickFollower()
    {
        SendHeartbeatIfDue();
        AnswerDeferredPrepare();
        if (_role != ReplicaRole.Follower)
        {
            return;
        }

        var waitTicks = _options.ElectionTimeoutTicks + (LargerLiveReplicas() * _options.ElectionStaggerTicks) + _electionJitter;
        var mayStand = (_options.Bugs & ProtocolBugs.NeverStandAgain) == 0 || FailedCandidacies == 0;
        if (_tick - _lastLeaderContactTick >= waitTicks && KnowsItsRank() && !_rebuilding && mayStand && MayStand)
        {
            // Asked again every heartbeat interval until a quorum says yes or a leader is heard.
            StartPreVote();
        }
    }

    private void TickCandidate()
    {
        SendHeartbeatIfDue();
        AnswerDeferredPrepare();
        if (_role != ReplicaRole.Candidate)
        {
            return;
        }

        if (_tick - _roleSinceTick < CandidateTimeoutTicks)
        {
            return;
        }

        // No quorum answered in time. The preferred replica (no larger one alive) stands again at once with a higher
        // ballot; any other steps aside and waits the usual time, so that the preferred one is not overtaken.
        var why = $"no quorum of promises within {CandidateTimeoutTicks} ticks";
        if (LargerLiveReplicas() == 0 && (_options.Bugs & ProtocolBugs.NeverStandAgain) == 0)
        {
            NoteCandidacyFailed(why + "; standing again at once (no larger replica is live)");
            StartElection(reason: why + "; standing again (no larger replica is live)");
        }
        else
        {
            BecomeFollower(why + "; stepping aside for a larger live replica");
        }
    }

    /// <summary>Promises may be slow (each is fsynced first); a candidate waits longer than a follower's timeout.</summary>
    private int CandidateTimeoutTicks => 2 * _options.ElectionTimeoutTicks;

    private void TickLeader()
    {
        SendHeartbeatIfDue();
        RetransmitAccepts();
        if (_tick - _roleSinceTick >= _options.ElectionTimeoutTicks && !HasRecentQuorum())
        {
            // A leader cut off from a quorum steps down, so clients and peers stop waiting on it.
            BecomeFollower("no quorum acknowledged this leader within the election timeout");
        }
        else if (!CurrentConfiguration.IsVoter(Id))
        {
            // Removed from the voters, and every slot this leader still had to vote in is chosen: a voter leads on.
            BecomeFollower($"it is no voter of the configuration in effect from slot {EpochStartAt(_commitIndex + 1)}");
        }
        else
        {
            AskLatePromisesIfBlocked();
            TickHandover();
            HandOverToPreferred();
        }
    }

    /// <summary>
    /// After a start, a replica's rank is known once it has heard every larger id (only they can outrank it), once it
    /// has seen a leader (start-up is over), or once InitialElectionDelayTicks have passed (the rest may be down).
    /// </summary>
    private bool KnowsItsRank()
    {
        if (_startupOver)
        {
            return true;
        }

        _startupOver = _tick >= _options.InitialElectionDelayTicks || _members.All(m => m <= Id || !CurrentConfiguration.IsVoter(m) || _heardSinceStart.Contains(m));
        return _startupOver;
    }

    private int LargerLiveReplicas()
    {
        var count = 0;
        foreach (var member in _members)
        {
            if (member > Id && CurrentConfiguration.IsVoter(member) && HeardRecently(member))
            {
                count++;
            }
        }

        return count;
    }

    private bool HasRecentQuorum()
    {
        var live = new List<int> { Id };
        foreach (var member in _members)
        {
            if (member != Id && _tick - _lastAckTick[member] < _options.ElectionTimeoutTicks)
            {
                live.Add(member);
            }
        }

        return IsQuorumAt(_commitIndex + 1, live);
    }

    private void SendHeartbeatIfDue()
    {
        if (_tick - _lastHeartbeatTick >= _options.HeartbeatIntervalTicks)
        {
            SendHeartbeat();
        }
    }

    /// <summary>
    /// How long this replica has been up, as its heartbeats say it (from 1): capped at the stability window, which is all
    /// a leader asks of it, so that heartbeats do not change with every tick; 0 with no preferred-leader rule here.
    /// </summary>
    private long UpTicksToSay => _options.PreferredLeader == ReplicaOptions.PreferNone ? 0 : Math.Min(_tick + 1, _options.PreferredLeaderStableTicks);

    private void SendHeartbeat()
    {
        _lastHeartbeatTick = _tick;
        var isLeader = _role == ReplicaRole.Leader;
        var ballot = isLeader ? _ballot : _promised;
        var round = CurrentReadRound;
        var phase1Slot = isLeader ? _phase1Slot : 0;
        var readiness = ReadinessToSay();
        SendToPeers(to => new Heartbeat(Id, to, ballot, isLeader, _commitIndex, round, phase1Slot, UpTicksToSay, readiness, _snapshotSlot));
    }

    private void StartElection(bool handover = false, string reason = "a quorum granted its pre-vote (no leader heard within the election timeout)")
    {
        RoleReason = handover ? "the leader handed over to it" : reason;
        _role = ReplicaRole.Candidate;
        _roleSinceTick = _tick;
        _leaderId = null;
        _maxRoundSeen = Math.Max(_maxRoundSeen, _promised.Round) + 1;
        _ballot = new Ballot(_maxRoundSeen, Id);
        _promises.Clear();
        _candidacyRejects.Clear();
        _candidacyDiscarded.Clear();
        _prepareFromSlot = _commitIndex + 1;
        _electionJitter = _random.Next(_options.ElectionJitterTicks);
        if ((_options.Bugs & ProtocolBugs.SkipPhase1) != 0)
        {
            BecomeLeader();
            return;
        }

        var ballot = _ballot;
        var fromSlot = _prepareFromSlot;
        SendToAll(to => new Prepare(Id, to, ballot, fromSlot, handover));
    }

    private void BecomeFollower(string? why = null)
    {
        if (_role == ReplicaRole.Candidate)
        {
            NoteCandidacyFailed(why ?? "it stood down");
        }

        var wasLeader = _role == ReplicaRole.Leader;
        RoleReason = why ?? "it stood down";
        _role = ReplicaRole.Follower;
        _roleSinceTick = _tick;
        if (_leaderId == Id)
        {
            _leaderId = null;
        }

        // Wait a full timeout for another leader before standing again.
        _lastLeaderContactTick = _tick;
        _electionJitter = _random.Next(_options.ElectionJitterTicks);
        _inFlight.Clear();
        _promises.Clear();
        _phase1Promisers.Clear();
        _handoverTarget = null;
        _recovered.Clear();
        _recoveryEnd = 0;
        if (wasLeader)
        {
            DropPendingReads();
        }
    }

    /// <summary>A message from a replica that leads at <paramref name="ballot"/>, not below our promise.</summary>
    private void NoteLeader(int leaderId, Ballot ballot)
    {
        if (_role != ReplicaRole.Follower && leaderId != Id && ballot > _ballot)
        {
            BecomeFollower($"replica {leaderId} leads at {ballot}");
        }

        if (leaderId != Id)
        {
            NotePreferredOutcome(leaderId);
            _leaderId = leaderId;
            _lastLeaderContactTick = _tick;
            _startupOver = true;
            ClearPreVote();
        }
    }

    private void NoteBallot(Ballot ballot)
    {
        _maxRoundSeen = Math.Max(_maxRoundSeen, ballot.Round);
    }

    /// <summary>
    /// The commit index a leader's Accept or Commit carries, as a heartbeat's would be noted: a replica that hears the
    /// leader knows how far behind it is from the first message on, not only from the first heartbeat (the write quota
    /// judges only when it is close enough). Never lowered by a late message.
    /// </summary>
    private void NotePeerCommit(int from, long commitIndex)
    {
        if (commitIndex > _peerCommitIndex.GetValueOrDefault(from))
        {
            _peerCommitIndex[from] = commitIndex;
        }
    }

    private void OnHeartbeat(Heartbeat heartbeat)
    {
        _peerCommitIndex[heartbeat.From] = heartbeat.CommitIndex;
        if (heartbeat.UpTicks < _peerUpTicks.GetValueOrDefault(heartbeat.From))
        {
            // Up for less than it said before: it restarted, however short the gap in hearing it was. Handovers to its
            // earlier life that failed say nothing of this one: its back-off starts again too.
            _heardWithoutGapSince[heartbeat.From] = _tick;
            _preferredFailures.Remove(heartbeat.From);
        }

        _peerUpTicks[heartbeat.From] = heartbeat.UpTicks;
        _peerReadiness[heartbeat.From] = heartbeat.Readiness;
        // A hint of whom to ask for a snapshot, nothing more: kept within what a correct peer could say, not refused.
        _peerSnapshotSlot[heartbeat.From] = Math.Clamp(heartbeat.SnapshotSlot, 0, Math.Max(0, heartbeat.CommitIndex));
        NoteBallot(heartbeat.Ballot);
        if (!heartbeat.IsLeader)
        {
            if (heartbeat.CommitIndex > _commitIndex)
            {
                RequestCatchUp(heartbeat.From);
            }

            return;
        }

        if (heartbeat.Ballot < _promised)
        {
            Send(new Reject(Id, heartbeat.From, heartbeat.Ballot, _promised));
            return;
        }

        NoteLeader(heartbeat.From, heartbeat.Ballot);
        NoteEstablishedLeader(heartbeat.Ballot, heartbeat.Phase1Slot);
        if (_rebuilding && _rebuildFloor is null)
        {
            // An acknowledgement vouches that no higher ballot was promised here, which a replica that lost its
            // promises cannot know yet (a leader counts these to confirm reads).
            LearnCommit(heartbeat.Ballot, heartbeat.CommitIndex, heartbeat.From);
            return;
        }

        // Learn first, so that the acknowledgement carries the commit index this heartbeat brought: a leader handing
        // over waits for its target to know everything chosen, and would otherwise wait one heartbeat more.
        LearnCommit(heartbeat.Ballot, heartbeat.CommitIndex, heartbeat.From);
        Send(new HeartbeatAck(Id, heartbeat.From, heartbeat.Ballot, heartbeat.ReadRound, _commitIndex));
    }

    private void OnHeartbeatAck(HeartbeatAck ack)
    {
        _peerCommitIndex[ack.From] = ack.CommitIndex;
        if (_role != ReplicaRole.Leader || ack.Ballot != _ballot)
        {
            return;
        }

        _lastAckTick[ack.From] = _tick;
        _heardAckTick[ack.From] = _tick;
        OnReadRoundAck(ack.From, ack.ReadRound);
    }

    private void OnReject(Reject reject)
    {
        NoteBallot(reject.Promised);
        if (_role != ReplicaRole.Follower && reject.Ballot == _ballot && reject.Promised > _ballot)
        {
            _candidacyRejects[reject.From] = reject.Promised;
            BecomeFollower($"replica {reject.From} had promised {reject.Promised}");
        }
    }
}
