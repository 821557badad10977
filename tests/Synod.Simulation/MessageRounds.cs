using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>The highest ballot round a peer message tells its receiver of (a receiver's next ballot goes above it).</summary>
public static class MessageRounds
{
    public static long Highest(Message message) => message switch
    {
        Prepare m => m.Ballot.Round,
        Promise m => m.Ballot.Round,
        Accept m => m.Ballot.Round,
        Accepted m => m.Ballot.Round,
        Commit m => m.Ballot.Round,
        Heartbeat m => m.Ballot.Round,
        HeartbeatAck m => m.Ballot.Round,
        PreVote m => m.Ballot.Round,
        PreVoteReply m => Math.Max(m.Ballot.Round, m.Promised.Round),
        Reject m => Math.Max(m.Ballot.Round, m.Promised.Round),
        Reballot m => m.Above.Round,
        TimeoutNow m => m.Ballot.Round,
        VoterQueryReply m => m.Promised.Round,
        _ => 0,
    };
}
