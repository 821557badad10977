using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Rejoining after losing durable state (Paxos Made Live §5.1: a replica with a corrupted or lost disk must not vote
/// until it cannot contradict what it said before). A rebuilding replica learns like any follower but makes no promise
/// and accepts nothing. First it asks its peers for their promises; the largest answer of a quorum of peers is a floor
/// at or above every ballot it could have promised or accepted before, because any quorum that counted its lost vote
/// shares a member with that quorum of peers. Then it waits for a leader established at a ballot B above the floor
/// (asking the sitting leader to run phase 1 again, Reballot, if its ballot is not above). B's phase 1 ran without
/// this replica, so every slot its lost acceptances could have helped choose is at or below the last slot that phase 1
/// covered, and no value at a ballot below B can be chosen any more above it. Once this replica knows every slot up
/// to that one chosen, it reports them in any promise it makes, and may vote: it starts with promise B.
/// </summary>
public sealed partial class Replica
{
    private bool _rebuilding;
    private Ballot? _rebuildFloor;
    private readonly Dictionary<int, Ballot> _floorAnswers = [];
    private long _rebuildSentTick = long.MinValue / 2;
    private Ballot? _voterBallot;
    private long _voterAfterSlot;

    /// <summary>True while this replica rebuilds its lost state and must not vote.</summary>
    public bool Rebuilding => _rebuilding;

    /// <summary>Asks for the floor, then for a ballot above it, until this replica may vote.</summary>
    private void TickRebuild()
    {
        if (!_rebuilding)
        {
            return;
        }

        MaybeBecomeVoter();
        if (!_rebuilding || _tick - _rebuildSentTick < _options.RetransmitTicks)
        {
            return;
        }

        _rebuildSentTick = _tick;
        if (_rebuildFloor is not Ballot floor)
        {
            SendToPeers(to => new VoterQuery(Id, to));
        }
        else if (_voterBallot is null && HeardLeaderRecently && _leaderId is int leader)
        {
            Send(new Reballot(Id, leader, floor));
        }
    }

    private void OnVoterQuery(VoterQuery query)
    {
        // A rebuilding replica's own promise proves nothing about what it promised before; only voters answer.
        if (!_rebuilding)
        {
            Send(new VoterQueryReply(Id, query.From, _promised));
        }
    }

    private void OnVoterQueryReply(VoterQueryReply reply)
    {
        NoteBallot(reply.Promised);
        if (!_rebuilding || _rebuildFloor is not null || reply.From == Id)
        {
            return;
        }

        _floorAnswers[reply.From] = reply.Promised;
        if (!IsQuorum(_floorAnswers.Count))
        {
            return;
        }

        var floor = _floorAnswers.Values.Aggregate(Ballot.Zero, Ballot.Max);
        _rebuildFloor = floor;
        _floorAnswers.Clear();
        _rebuildSentTick = long.MinValue / 2;
        if (floor > _promised)
        {
            // A true lower bound of what this replica promised before, so it may be kept and acted on (rejects).
            _promised = floor;
            _ready.PersistOps.Add(new PromiseOp(floor));
        }
    }

    /// <summary>A leader established at <paramref name="ballot"/>, whose phase 1 covered slots up to <paramref name="phase1Slot"/>, was heard.</summary>
    private void NoteEstablishedLeader(Ballot ballot, long phase1Slot)
    {
        if (!_rebuilding || _rebuildFloor is not Ballot floor || ballot <= floor || (_voterBallot is Ballot known && known >= ballot))
        {
            return;
        }

        _voterBallot = ballot;
        _voterAfterSlot = phase1Slot;
        MaybeBecomeVoter();
    }

    private void MaybeBecomeVoter()
    {
        if (_voterBallot is not Ballot ballot || _commitIndex < _voterAfterSlot)
        {
            return;
        }

        // VoterOp follows, in the same log, the chosen values just learned, so a restart keeps both or neither.
        _rebuilding = false;
        _rebuildFloor = null;
        _voterBallot = null;
        _promised = Ballot.Max(_promised, ballot);
        _ready.PersistOps.Add(new VoterOp(ballot));
    }

    private void OnReballot(Reballot reballot)
    {
        NoteBallot(reballot.Above);
        if (_role != ReplicaRole.Leader || _ballot > reballot.Above)
        {
            return;
        }

        // Phase 1 again at a higher ballot; reads waiting on the old ballot's confirmation are retried by their clients.
        DropPendingReads();
        StartElection();
    }
}
