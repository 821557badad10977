namespace Synod.Core.Messages;

/// <summary>
/// Sent by every replica every heartbeat interval: liveness (for the largest-live-id rule), its commit
/// index (so laggards know whom to catch up from) and, from a leader, its ballot and read round.
/// </summary>
public sealed record Heartbeat(int From, int To, Ballot Ballot, bool IsLeader, long CommitIndex, long ReadRound) : Message(From, To);
