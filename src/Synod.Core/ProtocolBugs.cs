namespace Synod.Core;

/// <summary>
/// Known protocol bugs that can be switched on in the simulator to prove that its checkers catch
/// them. Never set outside tests: each one breaks safety on purpose.
/// </summary>
[Flags]
public enum ProtocolBugs : long
{
    None = 0,

    /// <summary>The shell sends a promise or an acceptance before the state it promises is durable.</summary>
    AckBeforePersist = 1,

    /// <summary>A new leader starts phase 2 without phase 1, so it never learns values already accepted.</summary>
    SkipPhase1 = 2,

    /// <summary>Quorums are one smaller than a majority, so two quorums need not intersect.</summary>
    SmallQuorum = 4,

    /// <summary>A learner applies a slot as soon as it accepts it, before a quorum has chosen it.</summary>
    ApplyBeforeChosen = 8,

    /// <summary>A replica that lost its disk votes at once, forgetting what it promised and accepted before.</summary>
    VoteAfterDiskLoss = 16,

    /// <summary>The storage never fsyncs (a shell bug, switched on the simulated disk): acknowledged state lives only in the page cache.</summary>
    SkipFsync = 32,

    /// <summary>The core takes peers' messages without checking the rules of PeerMessageRules (a forged Accept is believed).</summary>
    SkipMessageValidation = 64,

    /// <summary>A candidate that installs a snapshot keeps its election going and leads on its stale phase 1 (issue 13, finding 1).</summary>
    CandidateInstallsSnapshot = 128,

    /// <summary>A rebuilding replica does not adopt the lives its floor quorum knows, so it forgets another's rebuild (issue 13, finding 2).</summary>
    RebuildForgetsLives = 256,

    /// <summary>A replica whose candidacy failed never stands again (a liveness bug: the cluster can be left with no one to lead).</summary>
    NeverStandAgain = 512,

    /// <summary>
    /// The state machine's old session rule (a shell bug, switched on the KV state machine): a write with sequence 1
    /// opens a session, so a late copy of a first write whose session was evicted is applied again.
    /// </summary>
    FirstWriteOpensSession = 1024,

    /// <summary>
    /// A rebuilding replica counts the first answer of each voter, without the confirmation round: an answer whose
    /// sender lost its disk before the count completed passes for a durable record (docs/protocol.md, I18).
    /// </summary>
    UnconfirmedAnswers = 2048,

    /// <summary>The replica driver answers a client's write as soon as it is proposed, not once it is applied.</summary>
    AnswerWriteOnPropose = 4096,

    /// <summary>The replica driver serves a linearizable read from what it has applied, without a confirmed read index.</summary>
    ReadWithoutReadIndex = 8192,

    /// <summary>
    /// A rebuilding replica votes as soon as it hears a leader established above its floor, before it knows every slot
    /// that leader's phase 1 covered (I14 step 3 skipped), so its promises hide values its lost acceptances helped choose.
    /// </summary>
    VoteBeforeCatchUp = 16384,

    /// <summary>
    /// The replica driver evaluates a conditional write's compare against the state it has applied when the write
    /// arrives, and proposes the write without its condition (or answers "compare failed" at once): the compare sees a
    /// state that may be stale by the time the write is applied, so two compare-and-swaps can both succeed.
    /// </summary>
    CompareAtProposal = 32768,

    /// <summary>The replica driver serves a linearizable range read from what it has applied, without a confirmed read index.</summary>
    RangeWithoutReadIndex = 65536,

    /// <summary>
    /// The state machine's old revision rule (switched on the KV state machine): revisions start when a snapshot from
    /// before them is restored, so replicas that restored old snapshots of different slots number them differently.
    /// </summary>
    RevisionsStartAtRestore = 131072,

    /// <summary>
    /// The replica driver decides a transaction's compares when it arrives, against its own applied state, and proposes
    /// the chosen branch without them: two transfers from the same balances both apply.
    /// </summary>
    TxnCompareAtProposal = 262144,

    /// <summary>
    /// The state machine's history (switched on the KV state machine): a read at a past revision undoes that revision's
    /// own changes too, so it answers the state one revision earlier.
    /// </summary>
    HistoryUndoesOneTooMany = 524288,

    /// <summary>The replica driver serves a watcher from one revision after its start: a watcher resumed from its last revision + 1 misses a change.</summary>
    WatchStartsOneLate = 1048576,

    /// <summary>The replica driver drops the changes a full watch stream cannot take, instead of catching the watcher up from the history later.</summary>
    WatchDropsWhenFull = 2097152,

    /// <summary>
    /// The replica driver's lease clocks: a new leader keeps the deadlines it noted for each lease when the grant was
    /// applied, instead of giving every lease its full TTL again; it never saw the keep-alives the old leader did, so it
    /// expires a lease that was kept alive.
    /// </summary>
    LeaderKeepsLeaseDeadlines = 4194304,

    /// <summary>A leader takes up a configuration change as soon as it proposes it, not α slots after it is chosen.</summary>
    ConfigurationAtOnce = 8388608,

    /// <summary>Learners' promises and acceptances count towards quorums as if they were voters.</summary>
    LearnerVotes = 16777216,

    /// <summary>
    /// A leader confirms reads before its phase 1 has covered every configuration it knows (I24): a read may miss a write
    /// chosen in a configuration the leader learns only later. Reached by the golden schedule in MembershipTests.
    /// </summary>
    ReadsBeforeEstablished = 33554432,

    /// <summary>
    /// A replica the leader hands over to leads at once without phase 1, trusting that it knows every slot chosen. A
    /// TimeoutNow that arrives late, after the leader gave the handover up and chose more slots, then overwrites them.
    /// </summary>
    HandoverSkipsPhase1 = 67108864,

    /// <summary>The state machine applies commands without checking their user's roles (KvBugs.PermissionsIgnored).</summary>
    PermissionsIgnored = 134217728,

    /// <summary>Snapshots leave out users, roles and whether authentication is on (KvBugs.SnapshotDropsAuth).</summary>
    SnapshotDropsAuth = 268435456,

    /// <summary>
    /// The replica driver checks a watcher's user only when the watch is created: a watch opened before authentication was
    /// turned on, or before its user lost the permission, goes on streaming changes it may no longer read.
    /// </summary>
    WatchOutlivesAuthChange = 536870912,

    /// <summary>
    /// Commands of encoding 5 are judged without the lease owner rules (KvBugs.OldCommandsByOldestRules): after an upgrade
    /// in place from the build that brought them, a replica that replays its log and one that restored its snapshot part.
    /// </summary>
    OldCommandsByOldestRules = 1073741824,

    /// <summary>
    /// A learner counts a snapshot chunk that overtook a late one as if every byte before it had arrived, so a snapshot
    /// with a gap of zeros is installed.
    /// </summary>
    SnapshotChunkCountedEarly = 1L << 31,

    /// <summary>
    /// A leader hands over to the preferred voter as soon as it is live and caught up, without the stability window: a
    /// replica that has just restarted is handed leadership at once, and one that keeps restarting takes it every time.
    /// </summary>
    PreferredLeaderSkipsWindow = 1L << 32,

    /// <summary>
    /// The preferred-leader rule ignores what its target says of itself: a leader hands over to a replica that says it
    /// hears no quorum (or rebuilds, or is stopping), and does not give the handover up when it refuses; proposals wait
    /// an election timeout once per window while the target cannot lead.
    /// </summary>
    PreferredLeaderIgnoresReadiness = 1L << 33,

    /// <summary>
    /// A replica stands on a TimeoutNow although it hears no quorum of voters: the leader promises it and steps aside,
    /// and a target that cannot win costs an election gap.
    /// </summary>
    HandoverIgnoresQuorum = 1L << 34,

    /// <summary>
    /// The replica driver proposes a write that would take the keys and values past the write quota, instead of refusing
    /// it with "no space" before the log.
    /// </summary>
    QuotaIgnored = 1L << 35,

    /// <summary>
    /// Moving a value restored from a snapshot into an array of its own drops its last byte
    /// (KvBugs.RestoredValuesMovedWrong): the value a replica holds changes under its readers without a write.
    /// </summary>
    RestoredValuesMovedWrong = 1L << 36,

    /// <summary>
    /// The replica driver writes over the arrays it handed the state machine once their slot is applied, as a transport
    /// that reused its receive buffers would (the bug applies copies and writes over those, so the log and the other
    /// replicas are untouched): a put's value is a slice of its command (KvCommand.DecodeSharingValue), so the values a
    /// replica holds change under its readers without a write.
    /// </summary>
    CommandArraysReused = 1L << 37,

    /// <summary>
    /// A replica that must fetch a snapshot asks whichever peer's heartbeat showed it behind first, whatever snapshots
    /// the peers' heartbeats said they hold: a learner then fetches an older snapshot and the newer one after it. A cost,
    /// not a safety bug, so not in the simulator's catalog: SnapshotTransferTests switch it on to show that their checks
    /// tell the two apart.
    /// </summary>
    OlderSnapshotKept = 1L << 38,

    /// <summary>
    /// A learner that refused a peer's snapshot (damaged at the source or in transfer) asks that peer again, whichever
    /// others could serve it: a copy damaged on the source's disk, which the source sends damaged every time, keeps the
    /// learner fetching it until the source takes a newer snapshot (a liveness bug).
    /// </summary>
    RefusedSourceAskedAgain = 1L << 39,

    /// <summary>
    /// A replica sends the configuration header of its snapshot as its copy on disk (the file's mapping) holds it, not as
    /// it checked it in memory: a header damaged on disk since it was checked can still parse, and a learner that
    /// installs it counts quorums of a configuration no replica chose.
    /// </summary>
    DamagedHeaderSent = 1L << 40,
}
