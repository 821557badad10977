namespace Synod.Core.Messages;

/// <summary>
/// Sent by every replica every heartbeat interval: liveness (for the largest-live-id rule), its commit
/// index (so laggards know whom to catch up from) and, from a leader, its ballot, read round and the last slot its
/// phase 1 covered (a rebuilding replica must know every slot up to it chosen before it votes). <paramref name="UpTicks"/>
/// is how long the sender has been up, in its own ticks counting the first as 1 and capped at its stability window
/// (0 from a build before the preferred leader or a replica run with none; less than it said before after a restart):
/// a leader hands over to a preferred replica only once it has been up for the stability window. <paramref name="Readiness"/>
/// says whether the sender may be handed leadership now (<see cref="LeadReadiness"/>; Unknown from an older build or with
/// no rule). <paramref name="SnapshotSlot"/> is the slot of the sender's snapshot (0 from an older build, or with none):
/// a replica that must fetch a snapshot asks the peer with the newest one.
/// </summary>
public sealed record Heartbeat(int From, int To, Ballot Ballot, bool IsLeader, long CommitIndex, long ReadRound, long Phase1Slot, long UpTicks = 0,
    LeadReadiness Readiness = LeadReadiness.Unknown, long SnapshotSlot = 0) : Message(From, To);
