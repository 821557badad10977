using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// Pre-vote (Raft §9.6, here for Multi-Paxos): a follower whose election timer fires first asks its peers whether
/// they would follow a new leader. Only with a quorum of yeses does it raise its ballot and start phase 1. Peers say
/// no while they hear a leader, so a replica returning after a crash, or cut off on one side of a one-way partition,
/// cannot depose a healthy leader. Nothing here is durable or needed for safety.
/// </summary>
public sealed partial class Replica
{
    private readonly HashSet<int> _preVotes = [];
    private Ballot? _preVoteBallot;
    private long _preVoteSentTick;

    private void StartPreVote()
    {
        if (_preVoteBallot is not null && _tick - _preVoteSentTick < _options.HeartbeatIntervalTicks)
        {
            return;
        }

        var ballot = new Ballot(Math.Max(_maxRoundSeen, _promised.Round) + 1, Id);
        _preVoteBallot = ballot;
        _preVoteSentTick = _tick;
        _preVotes.Clear();
        _preVotes.Add(Id);
        if (IsQuorumFrom(_commitIndex + 1, _preVotes))
        {
            ClearPreVote();
            StartElection();
            return;
        }

        SendToPeers(to => new PreVote(Id, to, ballot));
    }

    private void ClearPreVote()
    {
        _preVoteBallot = null;
        _preVotes.Clear();
    }

    private void OnPreVote(PreVote preVote)
    {
        NoteBallot(preVote.Ballot);
        var granted = _role != ReplicaRole.Leader && !(HeardLeaderRecently && _leaderId != preVote.From);
        Send(new PreVoteReply(Id, preVote.From, preVote.Ballot, granted, _promised));
    }

    private void OnPreVoteReply(PreVoteReply reply)
    {
        NoteBallot(reply.Promised);
        if (_role != ReplicaRole.Follower || _preVoteBallot != reply.Ballot || !reply.Granted)
        {
            return;
        }

        _preVotes.Add(reply.From);
        if (IsQuorumFrom(_commitIndex + 1, _preVotes))
        {
            ClearPreVote();
            StartElection();
        }
    }
}
