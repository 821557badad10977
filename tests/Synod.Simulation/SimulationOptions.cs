using Synod.Core;

namespace Synod.Simulation;

/// <summary>One simulated run. Times are simulated milliseconds; everything random derives from <see cref="Seed"/>.</summary>
public sealed record SimulationOptions
{
    public long Seed { get; init; } = 1;

    public int Replicas { get; init; } = 5;

    /// <summary>Client operations in the whole run; the first half runs under faults, the rest after healing.</summary>
    public int Ops { get; init; } = 200;

    public int Clients { get; init; } = 5;

    public int Keys { get; init; } = 4;

    public ProtocolBugs Bugs { get; init; } = ProtocolBugs.None;

    public bool TraceHash { get; init; }

    /// <summary>Crashes may also damage a synced sector of the victim's disk (the storage must refuse, then it is rebuilt).</summary>
    public bool CorruptSectors { get; init; }

    public int TickMs { get; init; } = 10;

    public int NetworkDelayMsMax { get; init; } = 12;

    public double MessageLossProbability { get; init; } = 0.05;

    /// <summary>
    /// Under faults, a message is now and then held far longer than <see cref="NetworkDelayMsMax"/>: long enough to
    /// outlive an election, a restart or a rebuild (issue 13: no message outlived any of them, so the simulator
    /// missed schedules that need one).
    /// </summary>
    public double LongDelayProbability { get; init; } = 0.01;

    /// <summary>The longest such hold.</summary>
    public int LongDelayMsMax { get; init; } = 3_000;

    /// <summary>
    /// A message sent across a partition is held until some time later (a link's queue flushed when it comes back)
    /// with this probability, instead of being dropped.
    /// </summary>
    public double HeldAcrossPartitionProbability { get; init; } = 0.2;

    public double MessageDuplicateProbability { get; init; } = 0.03;

    public int FsyncDelayMsMax { get; init; } = 15;

    public int ClientTimeoutMs { get; init; } = 400;

    /// <summary>Attempts per operation under faults before the client gives up (outcome unknown).</summary>
    public int ClientAttemptsMax { get; init; } = 3;

    /// <summary>After healing, an operation that has not completed within this long is a liveness failure.</summary>
    public int LivenessDeadlineMs { get; init; } = 15_000;

    /// <summary>Mean gap between injected faults (crash, partition) during the safety phase.</summary>
    public int FaultGapMsMean { get; init; } = 300;

    /// <summary>Every replica takes a snapshot and compacts its log every this many applied slots.</summary>
    public int SnapshotEverySlots { get; init; } = 25;

    /// <summary>
    /// Client sessions each replica's state machine keeps (KvLimits.SessionsMaxDefault in the server). Close to the
    /// number of clients, so that registrations evict sessions and expiry is exercised in every run.
    /// </summary>
    public int SessionsMax { get; init; } = 5;

    /// <summary>Probability that a client forgets its client id before a write, as a restarted process does, and registers a new one.</summary>
    public double ClientRestartProbability { get; init; } = 0.3;

    /// <summary>
    /// Per injected fault, the chance that it is a stalled candidacy (<see cref="StalledCandidacyFault"/>, I15): a
    /// candidate's Prepare to one peer is held while its clock runs slow and another replica leads, chooses and snapshots.
    /// </summary>
    public double StalledCandidacyProbability { get; init; } = 0.05;

    /// <summary>
    /// Per injected fault, the chance that it is an overtaken snapshot (<see cref="SnapshotOvertakenFault"/>): a cut-off
    /// follower's own snapshot is still being written when it installs a newer one from a peer.
    /// </summary>
    public double SnapshotOvertakenProbability { get; init; } = 0.05;

    /// <summary>
    /// Per injected fault, the chance that it is a damaged snapshot source (<see cref="DamagedSourceFault"/>): the mapped
    /// snapshot a cut-off follower will fetch is damaged on its source's disk, and the follower must fetch another's.
    /// </summary>
    public double DamagedSourceProbability { get; init; } = 0.05;

    /// <summary>How long each snapshot file write of the overtaken snapshot's follower takes while that fault runs.</summary>
    public int SnapshotOvertakenWriteMs { get; init; } = 500;

    /// <summary>Shortest and longest hold of the stalled candidate's Prepare to its last promiser.</summary>
    public int StalledPrepareHoldMsMin { get; init; } = 800;

    public int StalledPrepareHoldMsMax { get; init; } = 1_500;

    /// <summary>While the stalled candidate waits, every other replica but its late promiser takes a snapshot this often.</summary>
    public int StalledSnapshotEveryMs { get; init; } = 100;

    /// <summary>How many times slow a stalled candidate's timer runs (the random slow clock runs 8 times slow).</summary>
    public int StalledClockFactor { get; init; } = 8;

    /// <summary>
    /// Per injected fault, the chance that it is a forgotten life (<see cref="ForgottenLifeFault"/>, I16): a candidate's
    /// Prepare held across two rebuilds, the second of a replica that answered the first one's floor question.
    /// </summary>
    public double ForgottenLifeProbability { get; init; } = 0.05;

    /// <summary>
    /// Rounds by which the isolated candidate's ballot must lead every ballot the others promised or hold before its
    /// Prepare goes out: the two rebuilds that follow raise the leader's ballot by a round each.
    /// </summary>
    public int ForgottenLifeRoundsAhead { get; init; } = 6;

    /// <summary>While the isolated candidate climbs, its timer ticks this often (a fast clock), so its failed candidacies come quickly.</summary>
    public int ForgottenLifeClimbingTickMs { get; init; } = 2;

    /// <summary>How many times slow the isolated candidate's timer runs from its Prepare on, so one candidacy outlasts two rebuilds.</summary>
    public int ForgottenLifeClockFactor { get; init; } = 32;

    /// <summary>Longest time the rebuilt floor member hears no one before the held Prepare reaches it (at least an election timeout).</summary>
    public int ForgottenLifeQuietMsMax { get; init; } = 800;

    /// <summary>
    /// Per injected fault, the chance that it is an early vote (<see cref="EarlyVoteFault"/>, I14 step 3): a follower
    /// that helped choose slots the rest never saw loses its disk, and is cut off with the rest from the leader the
    /// moment it votes again.
    /// </summary>
    public double EarlyVoteProbability { get; init; } = 0.05;

    /// <summary>
    /// Per injected fault, the chance that it is a bridge (<see cref="BridgeFault"/>): the largest voter, when it does not
    /// lead, reaches the leader and no other replica for three stability windows; it must not stand on a handover then.
    /// </summary>
    public double BridgeProbability { get; init; } = 0.05;

    /// <summary>
    /// Per run, the chance that it begins on the build before revisions and is upgraded in place a quarter of the way in
    /// (the upgrade fault): until then clients write commands of the old encoding (no compare-and-swap) and replicas
    /// write their snapshots in the old format (2), so that after the upgrade replicas restore old snapshots taken at
    /// slots of their own while others replay the old log; they must still number revisions alike.
    /// </summary>
    public double UpgradeProbability { get; init; } = 0.2;

    /// <summary>
    /// The lease holders' lock recipe writes its counter without the fencing compare (a client bug, not a protocol one):
    /// a holder paused past its TTL then writes after the next holder, and the counter oracle must catch it.
    /// </summary>
    public bool UnfencedLock { get; init; }

    /// <summary>
    /// The storage deletes the WAL segments and snapshot a compaction supersedes before its checkpoint is durable
    /// (StorageOptions.CleanupBeforeCheckpointSyncBug): a crash in between must leave a replica that cannot recover.
    /// </summary>
    public bool CleanupBeforeCheckpointSync { get; init; }

    /// <summary>
    /// The storage publishes the file of a snapshot installed from a peer, written beside its restore, without a sync
    /// of its data (StorageOptions.PreparedInstallUnsyncedBug): a crash afterwards must leave a replica that cannot recover.
    /// </summary>
    public bool PreparedInstallUnsynced { get; init; }

    /// <summary>
    /// The driver gives back a snapshot's memory once the core holds it no more, without asking the log
    /// (ReplicaDriver.SnapshotMemoryFreedEarlyBug): the snapshot write that still reads it must fail.
    /// </summary>
    public bool SnapshotMemoryFreedEarly { get; init; }

    /// <summary>
    /// A restarted replica's state machine, restored ahead from its stored snapshot, is handed out at every later install
    /// too, whatever snapshot is installed (RestoredAhead.UncheckedBug): a replica that then installs a peer's snapshot
    /// goes back to its own older state.
    /// </summary>
    public bool RestoredAheadUnchecked { get; init; }

    /// <summary>
    /// Per run, the chance that its membership changes while it runs: spare replicas join as learners, learners are
    /// promoted, voters and learners are removed (sizes 1 to 7), among every other fault.
    /// </summary>
    public double ReconfigureProbability { get; init; } = 0.3;

    /// <summary>
    /// Per run, the chance that the leader is asked now and then to hand its leadership to a voter (random, or the
    /// best one), as `synod member remove` of the leader and a graceful stop do.
    /// </summary>
    public double HandoverProbability { get; init; } = 0.3;

    /// <summary>
    /// Per run, the chance that the replicas run with a write quota of a few keys (80 to 160 bytes), so that writes are
    /// refused for space and deletes make room again; the bug quota-ignored always runs with one.
    /// </summary>
    public double QuotaProbability { get; init; } = 0.2;

    /// <summary>The replicas' preferred-leader rule: as `synod serve` ships (the largest id), or none to prove the check can fail.</summary>
    public int PreferredLeader { get; init; } = ReplicaOptions.PreferLargestId;

    /// <summary>
    /// Per run, the chance that authentication is turned on while clients run: client 1 first adds users root and
    /// "limited" (a role with readwrite on half the keys) and enables authentication, then the even-numbered clients
    /// write as "limited" and the rest as root. A refused write must never take effect, and a write outside the grants
    /// begun after authentication was on must never be acknowledged.
    /// </summary>
    public double AuthProbability { get; init; } = 0.3;

    /// <summary>Mean gap between two handovers asked for in a run that hands over.</summary>
    public int HandoverGapMsMean { get; init; } = 400;

    /// <summary>Mean gap between two membership changes in a run that changes membership.</summary>
    public int ReconfigureGapMsMean { get; init; } = 250;

    /// <summary>The longest a targeted fault waits for one of its steps (a candidate, a promise, a rebuild) before it heals and gives up.</summary>
    public int TargetedStepMsMax { get; init; } = 3_000;

    /// <summary>Upper bound on simulated time, so a broken run cannot spin forever.</summary>
    public long RunMsMax { get; init; } = 600_000;

    public void Validate()
    {
        if (Replicas < 1 || Replicas > ReplicaOptions.ReplicasMax)
        {
            throw new ArgumentException($"--replicas {Replicas} is out of range: use 1 to {ReplicaOptions.ReplicasMax}.");
        }

        if (Ops < 1)
        {
            throw new ArgumentException($"--ops {Ops} must be at least 1.");
        }

        if (Clients < 1 || Keys < 1)
        {
            throw new ArgumentException("A run needs at least one client and one key.");
        }

        Require(SessionsMax >= 1, $"SessionsMax ({SessionsMax}) must be at least 1, or no client could be served exactly once.");
        RequireProbability(ClientRestartProbability, nameof(ClientRestartProbability));
        RequireProbability(MessageLossProbability, nameof(MessageLossProbability));
        RequireProbability(LongDelayProbability, nameof(LongDelayProbability));
        RequireProbability(HeldAcrossPartitionProbability, nameof(HeldAcrossPartitionProbability));
        RequireProbability(MessageDuplicateProbability, nameof(MessageDuplicateProbability));
        RequireProbability(StalledCandidacyProbability, nameof(StalledCandidacyProbability));
        RequireProbability(SnapshotOvertakenProbability, nameof(SnapshotOvertakenProbability));
        RequireProbability(DamagedSourceProbability, nameof(DamagedSourceProbability));
        Require(SnapshotOvertakenWriteMs >= 1, $"SnapshotOvertakenWriteMs {SnapshotOvertakenWriteMs} must be at least 1.");
        RequireProbability(ForgottenLifeProbability, nameof(ForgottenLifeProbability));
        RequireProbability(EarlyVoteProbability, nameof(EarlyVoteProbability));
        RequireProbability(BridgeProbability, nameof(BridgeProbability));
        RequireProbability(UpgradeProbability, nameof(UpgradeProbability));
        RequireProbability(ReconfigureProbability, nameof(ReconfigureProbability));
        RequireProbability(HandoverProbability, nameof(HandoverProbability));
        RequireProbability(AuthProbability, nameof(AuthProbability));
        RequireProbability(QuotaProbability, nameof(QuotaProbability));
        Require(TickMs >= 1 && SnapshotEverySlots >= 1, "TickMs and SnapshotEverySlots must be at least 1.");
        ValidateTargetedFaults();
    }

    /// <summary>Each targeted fault must be able to reach its schedule with the cores' timeouts (ReplicaOptions' defaults).</summary>
    private void ValidateTargetedFaults()
    {
        var electionTimeoutMs = new ReplicaOptions { Id = 1, Members = [1] }.ElectionTimeoutTicks * TickMs;
        Require(StalledSnapshotEveryMs >= 1, $"StalledSnapshotEveryMs {StalledSnapshotEveryMs} must be at least 1.");
        Require(StalledClockFactor >= 1, $"StalledClockFactor {StalledClockFactor} must be at least 1.");
        Require(StalledPrepareHoldMsMin > electionTimeoutMs && StalledPrepareHoldMsMax >= StalledPrepareHoldMsMin,
            $"StalledPrepareHoldMsMin ({StalledPrepareHoldMsMin}) must exceed an election timeout ({electionTimeoutMs} ms), or no other leader can " +
            $"rise meanwhile, and StalledPrepareHoldMsMax ({StalledPrepareHoldMsMax}) must be at least it.");
        var stalledCandidacyMs = 2L * electionTimeoutMs * StalledClockFactor;
        Require(StalledPrepareHoldMsMax < stalledCandidacyMs,
            $"StalledPrepareHoldMsMax ({StalledPrepareHoldMsMax}) must be below a stalled candidacy ({stalledCandidacyMs} ms at StalledClockFactor " +
            $"{StalledClockFactor}), or the candidacy ends before the held Prepare arrives.");
        Require(ForgottenLifeRoundsAhead >= 3,
            $"ForgottenLifeRoundsAhead ({ForgottenLifeRoundsAhead}) must be at least 3: two rebuilds each raise the leader's ballot a round.");
        Require(ForgottenLifeClimbingTickMs >= 1 && ForgottenLifeClimbingTickMs <= TickMs,
            $"ForgottenLifeClimbingTickMs ({ForgottenLifeClimbingTickMs}) must lie within 1 and TickMs ({TickMs}): it is a fast clock.");
        Require(ForgottenLifeClockFactor >= 1, $"ForgottenLifeClockFactor {ForgottenLifeClockFactor} must be at least 1.");
        Require(ForgottenLifeQuietMsMax > electionTimeoutMs,
            $"ForgottenLifeQuietMsMax ({ForgottenLifeQuietMsMax}) must exceed an election timeout ({electionTimeoutMs} ms), or the replica still defers to the leader.");
        Require(TargetedStepMsMax > 2 * electionTimeoutMs,
            $"TargetedStepMsMax ({TargetedStepMsMax}) must exceed two election timeouts ({2 * electionTimeoutMs} ms), or no candidacy can begin in time.");
    }

    private static void RequireProbability(double probability, string name) =>
        Require(probability is >= 0 and <= 1, $"{name} ({probability}) must be a probability, within 0 and 1.");

    private static void Require(bool condition, string sentence)
    {
        if (!condition)
        {
            throw new ArgumentException(sentence);
        }
    }
}
