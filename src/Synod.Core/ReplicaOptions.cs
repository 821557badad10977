namespace Synod.Core;

/// <summary>
/// Configuration of one replica's core. Every limit is named with its unit last; relationships
/// between limits are checked in <see cref="Validate"/>, which names the setting that is wrong.
/// </summary>
public sealed record ReplicaOptions
{
    public const int ReplicasMax = 15;

    /// <summary>
    /// α (docs/protocol.md, "Membership"): a configuration chosen in slot s governs from slot s + α. The same on every
    /// replica of a cluster, so it is fixed here, not a setting. A leader proposes no further than α beyond its commit
    /// index, so it must hold a pipeline (PipelineSlotsMax); on an idle cluster the leader fills the α slots with no-ops.
    /// </summary>
    public const int ConfigurationDelaySlots = 64;

    public required int Id { get; init; }

    /// <summary>The voters of the cluster's first configuration (this one included, unless it joined later); later ones are chosen in the log.</summary>
    public required IReadOnlyList<int> Members { get; init; }

    /// <summary>
    /// Replicas that joined after the first configuration (<see cref="Members"/>): every id up to this one may be a
    /// member's (<see cref="Configuration.IdMax"/>). 0 while none joined. The core keeps it current itself; the server
    /// sets it for the peer message rules it checks as messages arrive.
    /// </summary>
    public int MemberIdMax { get; init; }

    /// <summary>How often every replica announces itself (and the leader its commit point).</summary>
    public int HeartbeatIntervalTicks { get; init; } = 2;

    /// <summary>Silence from the leader after which a follower suspects it; also the leader's lease on its followers.</summary>
    public int ElectionTimeoutTicks { get; init; } = 10;

    /// <summary>Extra wait per live replica with a larger id, so that the largest live id stands first.</summary>
    public int ElectionStaggerTicks { get; init; } = 4;

    /// <summary>
    /// After a (re)start, a replica stands only once it has heard from every larger id, or seen a leader, or once
    /// this many ticks have passed: replicas started a moment apart then know their rank, and the largest id wins
    /// the first election. Zero in the simulator, where all start together.
    /// </summary>
    public int InitialElectionDelayTicks { get; init; }

    /// <summary>Random extra wait (exclusive bound) that breaks ties between equally ranked candidates.</summary>
    public int ElectionJitterTicks { get; init; } = 3;

    /// <summary>How long a leader waits for an answer before sending an accept or a catch-up request again.</summary>
    public int RetransmitTicks { get; init; } = 4;

    /// <summary>Slots a leader may have proposed and not yet seen chosen (phase 2 pipelining).</summary>
    public int PipelineSlotsMax { get; init; } = 32;

    /// <summary>Client commands in one slot (batching).</summary>
    public int BatchCommandsMax { get; init; } = 128;

    /// <summary>
    /// A slot with fewer than BatchCommandsMax commands is proposed only while fewer than this many slots are in
    /// flight; full ones are proposed up to PipelineSlotsMax. A lone command still goes at once, but under load the
    /// commands that arrive while a slot is out wait for it and go together in the next: one Accept per peer and one
    /// fsync per replica for many. With 1, slots at 256 clients held 62-66 commands instead of 43-50 and the
    /// replicas spent 20-35% less CPU per put; at 16 clients nothing changed beyond noise (docs/performance.md).
    /// </summary>
    public int UnfilledSlotsInFlightMax { get; init; } = 1;

    /// <summary>Bytes of client commands in one slot (a single larger command still goes alone).</summary>
    public int BatchBytesMax { get; init; } = 1024 * 1024;

    /// <summary>Commands a replica holds while it has no leader to send them to; older ones are dropped.</summary>
    public int ProposalQueueCommandsMax { get; init; } = 8192;

    /// <summary>
    /// How long a command may wait here for a leader before it is dropped; the server sets it to its request timeout,
    /// after which the client has been told "outcome unknown" and may have retried elsewhere.
    /// </summary>
    public int ProposalWaitTicksMax { get; init; } = 500;

    /// <summary>Chosen slots in one catch-up answer.</summary>
    public int CatchUpEntriesMax { get; init; } = 256;

    /// <summary>Bytes of commands in one catch-up answer (a single larger slot still goes alone).</summary>
    public int CatchUpBytesMax { get; init; } = 4 * 1024 * 1024;

    /// <summary>Bytes of snapshot in one InstallSnapshot message.</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// InstallSnapshot messages a source sends for one request of a learner: a window of this many chunks in flight,
    /// so that a transfer is not one round trip through both owner loops per chunk. The learner asks for the next
    /// window once this one has arrived, and again from where it stands when a chunk went missing.
    /// </summary>
    public int SnapshotChunksInFlight { get; init; } = 8;

    /// <summary>
    /// What is wrong with a snapshot's state machine bytes, or null if nothing (the shell's check, a pure function): a
    /// snapshot assembled from a peer's chunks is checked before it is installed, and refused and fetched again if it
    /// fails. Null: not checked.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, string?>? SnapshotCheck { get; init; }

    /// <summary>
    /// The bytes at the start of the shell's snapshot that <see cref="SnapshotCheck"/> cannot find damage in (the state
    /// machine's own header: magic, version, length and checksum, outside what its checksum covers). A replica sends
    /// them, like its configuration header, as it checked them in memory, not as its snapshot file holds them. 0 to
    /// <see cref="SnapshotShellHeadBytesMax"/>.
    /// </summary>
    public int SnapshotShellHeadBytes { get; init; }

    /// <summary>The most <see cref="SnapshotShellHeadBytes"/> may be.</summary>
    public const int SnapshotShellHeadBytesMax = 4096;

    /// <summary>
    /// Allocates the array a snapshot from a peer is assembled in (as many bytes as its first chunk announces, at most
    /// <see cref="SnapshotBytesMax"/>). Its contents may be undefined: the core writes every byte from the chunks before
    /// the snapshot leaves it (a transfer is installed only once the chunks received in order reach its length). Null:
    /// <c>new byte[length]</c>. The server passes arrays backed by huge pages (Synod.Storage's LargeArrays), which a
    /// learner fills several times faster on this project's machines, without zeroing them first on the owner loop.
    /// </summary>
    public Func<int, byte[]>? SnapshotArrayAllocator { get; init; }

    /// <summary>The most SnapshotChunksInFlight may be, and the most chunks a learner may ask for in one request.</summary>
    public const int SnapshotChunksInFlightMax = 64;

    /// <summary>The largest snapshot a learner takes from a peer; a larger one is refused (it could not be held in memory).</summary>
    public long SnapshotBytesMax { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Accepted slots in one promise; a promise with more is marked truncated and the candidate catches up first.</summary>
    public int PromiseEntriesMax { get; init; } = 4096;

    /// <summary>
    /// Bytes of commands in one promise; a promise with more is marked truncated, like one with too many entries. It
    /// bounds the largest message a replica ever sends (the server's PeerMessageBytesMax must exceed it), and it holds
    /// two pipelines of full batches, so that the slots a leader had in flight always fit.
    /// </summary>
    public long PromiseBytesMax { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// How far beyond its commit index a leader may propose (rule V5 in docs/protocol.md): it proposes no new slot past
    /// it, a candidate whose promises report a slot past it treats them as truncated (it catches up first), and an
    /// acceptor drops an Accept whose slot lies past the commit index it carries. It must hold a full promise and a
    /// pipeline beyond it; in practice a leader is a pipeline (PipelineSlotsMax) ahead of its commit index.
    /// </summary>
    public int SlotsBeyondCommitMax { get; init; } = 16_384;

    /// <summary>Reads waiting for a read index on one replica; more are refused.</summary>
    public int PendingReadsMax { get; init; } = 65536;

    /// <summary><see cref="PreferredLeader"/>: the largest-id voter that is live, heard without a gap and caught up leads.</summary>
    public const int PreferLargestId = -1;

    /// <summary><see cref="PreferredLeader"/>: leadership stays where an election or a handover put it.</summary>
    public const int PreferNone = 0;

    /// <summary>
    /// Which replica a leader hands its leadership to once it can (docs/protocol.md, "Preferred leader"):
    /// <see cref="PreferLargestId"/>, <see cref="PreferNone"/>, or a replica id (that voter, when it is ready; while it
    /// is not, whoever leads goes on leading). <see cref="PreferNone"/> by default here, for the core's own tests; the
    /// server (ServerOptions.PreferredLeader) and the simulator run <see cref="PreferLargestId"/>.
    /// </summary>
    public int PreferredLeader { get; init; } = PreferNone;

    /// <summary>
    /// The stability window: how long a leader must have heard the preferred voter without a gap of half an election
    /// timeout (and seen it caught up) before it hands over to it, and the least time between two handovers it starts
    /// for this rule. A replica that keeps crashing and returning within it never leads.
    /// </summary>
    public int PreferredLeaderStableTicks { get; init; } = 60;

    /// <summary>How many slots behind this leader's commit index the preferred voter may be and still count as caught up.</summary>
    public int PreferredLeaderLagSlotsMax { get; init; } = 64;

    /// <summary>Protocol bugs switched on for the simulator's self-test. Always None in production.</summary>
    public ProtocolBugs Bugs { get; init; } = ProtocolBugs.None;

    public int QuorumSize => (Bugs & ProtocolBugs.SmallQuorum) != 0 ? Members.Count / 2 : (Members.Count / 2) + 1;

    /// <summary>
    /// The replica count rule, for every command that sets one: odd (an even count tolerates no more failures than the
    /// odd number below it) and within <paramref name="min"/>..<paramref name="max"/> (at most <see cref="ReplicasMax"/>).
    /// Throws <see cref="ArgumentException"/> naming <paramref name="setting"/>.
    /// </summary>
    public static void RequireOddReplicaCount(int count, string setting, int min = 1, int max = ReplicasMax)
    {
        Require(count >= min && count <= Math.Min(max, ReplicasMax) && count % 2 == 1,
            $"{setting} gives {count} replicas; use an odd number from {min} to {Math.Min(max, ReplicasMax)}: a majority must survive a minority of failures, and an even count tolerates no more failures than the odd number below it.");
    }

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the setting that is wrong and why.</summary>
    public void Validate()
    {
        Require(Members.Count >= 1 && Members.Count <= ReplicasMax, $"Members has {Members.Count} replicas; a cluster has 1 to {ReplicasMax}.");
        Require(Members.Distinct().Count() == Members.Count, "Members lists a replica id twice; every replica needs its own id.");
        Require(SnapshotShellHeadBytes is >= 0 and <= SnapshotShellHeadBytesMax,
            $"SnapshotShellHeadBytes is {SnapshotShellHeadBytes}; it must be 0 to {SnapshotShellHeadBytesMax} bytes.");
        Require(Members.All(m => m > 0), "Members holds an id below 1; replica ids start at 1.");
        Require(Members.Contains(Id) || (Members.Count > 0 && Id > Members.Max() && Id <= Configuration.ReplicaIdMax),
            $"Id {Id} is not in Members [{string.Join(",", Members)}]; a replica must be a member of its cluster's first configuration, or join later with an id above all of them.");
        Require(HeartbeatIntervalTicks >= 1, "HeartbeatIntervalTicks must be at least 1.");
        Require(ElectionTimeoutTicks > 2 * HeartbeatIntervalTicks,
            $"ElectionTimeoutTicks ({ElectionTimeoutTicks}) must exceed twice HeartbeatIntervalTicks ({HeartbeatIntervalTicks}), or one lost heartbeat starts an election.");
        Require(ElectionStaggerTicks >= 0, "ElectionStaggerTicks must not be negative.");
        Require(InitialElectionDelayTicks >= 0, "InitialElectionDelayTicks must not be negative.");
        Require(ElectionJitterTicks >= 1, "ElectionJitterTicks must be at least 1.");
        Require(RetransmitTicks >= 1, "RetransmitTicks must be at least 1.");
        Require(PipelineSlotsMax >= 1 && PipelineSlotsMax <= ConfigurationDelaySlots,
            $"PipelineSlotsMax ({PipelineSlotsMax}) must lie within 1..{ConfigurationDelaySlots} (the slots after which a configuration change takes effect), or the pipeline would outrun the known configuration.");
        Require(BatchCommandsMax >= 1, "BatchCommandsMax must be at least 1.");
        Require(UnfilledSlotsInFlightMax >= 1 && UnfilledSlotsInFlightMax <= PipelineSlotsMax,
            $"UnfilledSlotsInFlightMax ({UnfilledSlotsInFlightMax}) must be within 1..PipelineSlotsMax ({PipelineSlotsMax}).");
        Require(BatchBytesMax >= 1, "BatchBytesMax must be at least 1.");
        Require(ProposalQueueCommandsMax >= BatchCommandsMax,
            $"ProposalQueueCommandsMax ({ProposalQueueCommandsMax}) must be at least BatchCommandsMax ({BatchCommandsMax}), or a full batch can never form.");
        Require(ProposalWaitTicksMax >= 1, "ProposalWaitTicksMax must be at least 1.");
        Require(CatchUpEntriesMax >= 1, "CatchUpEntriesMax must be at least 1.");
        Require(CatchUpBytesMax >= 1, "CatchUpBytesMax must be at least 1.");
        Require(SnapshotChunkBytes >= 1, "SnapshotChunkBytes must be at least 1.");
        Require(SnapshotChunksInFlight >= 1 && SnapshotChunksInFlight <= SnapshotChunksInFlightMax, $"SnapshotChunksInFlight ({SnapshotChunksInFlight}) must be within 1..{SnapshotChunksInFlightMax}.");
        Require(SnapshotBytesMax >= SnapshotChunkBytes && SnapshotBytesMax <= Array.MaxLength,
            $"SnapshotBytesMax ({SnapshotBytesMax}) must lie within SnapshotChunkBytes ({SnapshotChunkBytes}) and {Array.MaxLength} (a snapshot from a peer is assembled in one array).");
        Require(PromiseEntriesMax >= PipelineSlotsMax,
            $"PromiseEntriesMax ({PromiseEntriesMax}) must be at least PipelineSlotsMax ({PipelineSlotsMax}), or a promise cannot carry one leader's in-flight slots.");
        Require(PromiseBytesMax >= 2L * PipelineSlotsMax * BatchBytesMax,
            $"PromiseBytesMax ({PromiseBytesMax}) must be at least twice PipelineSlotsMax ({PipelineSlotsMax}) full batches of BatchBytesMax ({BatchBytesMax}), or a promise cannot carry one leader's in-flight slots.");
        Require(SlotsBeyondCommitMax >= PromiseEntriesMax + PipelineSlotsMax && SlotsBeyondCommitMax <= 1 << 30,
            $"SlotsBeyondCommitMax ({SlotsBeyondCommitMax}) must lie within PromiseEntriesMax + PipelineSlotsMax ({PromiseEntriesMax + PipelineSlotsMax}) and 2^30, or a candidate could not re-propose what one full promise reports.");
        Require(PendingReadsMax >= 1, "PendingReadsMax must be at least 1.");
        Require(PreferredLeader >= PreferLargestId && PreferredLeader <= Configuration.ReplicaIdMax,
            $"PreferredLeader ({PreferredLeader}) must be {PreferLargestId} (the largest id), {PreferNone} (none) or a replica id up to {Configuration.ReplicaIdMax}.");
        Require(PreferredLeaderStableTicks >= ElectionTimeoutTicks,
            $"PreferredLeaderStableTicks ({PreferredLeaderStableTicks}) must be at least ElectionTimeoutTicks ({ElectionTimeoutTicks}): a shorter window would hand leadership to a replica before a gap in hearing it could show.");
        Require(PreferredLeaderLagSlotsMax >= 0, "PreferredLeaderLagSlotsMax must not be negative.");
    }

    private static void Require(bool condition, string sentence)
    {
        if (!condition)
        {
            throw new ArgumentException(sentence);
        }
    }
}
