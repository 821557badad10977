namespace Synod.Core.Persistence;

/// <summary>
/// One change to a replica's durable state. The shell writes a Ready's ops in order and makes them
/// durable before it sends that Ready's messages; <see cref="DurableState.Apply"/> folds them back on restart.
/// </summary>
public abstract record PersistOp;

/// <summary>The acceptor promised Ballot: it will accept nothing lower.</summary>
public sealed record PromiseOp(Ballot Ballot) : PersistOp;

/// <summary>The acceptor accepted Commands in Slot at Ballot (which also promises Ballot).</summary>
public sealed record AcceptOp(long Slot, Ballot Ballot, byte[][] Commands) : PersistOp;

/// <summary>The learner learned that Commands is chosen in Slot (from a peer, not by accepting it).</summary>
public sealed record ChosenOp(long Slot, byte[][] Commands) : PersistOp;

/// <summary>Every slot up to CommitIndex is chosen and present in the log or the snapshot.</summary>
public sealed record CommitOp(long CommitIndex) : PersistOp;

/// <summary>
/// The state machine as of Slot; every slot up to it may be forgotten. Data may be memory the shell lent the core
/// (<see cref="Replica.CompactEnveloped"/>): never written to, and valid while the log or the core holds it (the
/// driver gives it back once neither does).
/// </summary>
public sealed record SnapshotOp(long Slot, ReadOnlyMemory<byte> Data) : PersistOp;

/// <summary>
/// This replica lost its durable state (a new disk, or a damaged log discarded by --rebuild-from-peers) and rejoins as a
/// non-voter: it makes no promise and accepts nothing until a <see cref="VoterOp"/> says it may vote again.
/// </summary>
public sealed record RebuildOp : PersistOp;

/// <summary>
/// A rebuilding replica saw a leader established at Ballot, above every ballot it could have promised before it lost
/// its state: from here on it votes, and it has promised Ballot.
/// </summary>
public sealed record VoterOp(Ballot Ballot) : PersistOp;

/// <summary>
/// Replica is in its Incarnation-th life since it last lost its disk (0 for a replica that never did). Recorded by a
/// peer before it answers that replica's VoterQuery, and by the replica itself: a candidate discards a promise from an
/// earlier life of an acceptor once any promise it counts knows of a later one (Replica.Rebuild.cs).
/// </summary>
public sealed record IncarnationOp(int Replica, long Incarnation) : PersistOp;

/// <summary>
/// A rebuilding replica asked its voters question round Round (docs/protocol.md, "confirmation round"): persisted before
/// the round's queries leave, so no round number is used twice by one replica, across restarts too, and an answer
/// that echoes a round was written after that round began.
/// </summary>
public sealed record QueryRoundOp(long Round) : PersistOp;
