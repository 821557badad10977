namespace Synod.Core.Messages;

/// <summary>
/// Sent by every replica every heartbeat interval: liveness (for the largest-live-id rule), its commit
/// index (so laggards know whom to catch up from) and, from a leader, its ballot, read round and the last slot its
/// phase 1 covered (a rebuilding replica must know every slot up to it chosen before it votes).
/// </summary>
public sealed record Heartbeat(int From, int To, Ballot Ballot, bool IsLeader, long CommitIndex, long ReadRound, long Phase1Slot) : Message(From, To);
