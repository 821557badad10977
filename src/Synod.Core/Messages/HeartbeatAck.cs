namespace Synod.Core.Messages;

/// <summary>A follower's answer to a leader heartbeat: it has promised nothing above Ballot, as of ReadRound.</summary>
public sealed record HeartbeatAck(int From, int To, Ballot Ballot, long ReadRound, long CommitIndex) : Message(From, To);
