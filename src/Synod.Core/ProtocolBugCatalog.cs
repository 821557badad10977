namespace Synod.Core;

/// <summary>Names and descriptions of <see cref="ProtocolBugs"/>, as the simulator's --list-bugs prints them.</summary>
public static class ProtocolBugCatalog
{
    public static IReadOnlyList<(string Name, ProtocolBugs Bug, string Description)> All { get; } =
    [
        ("ack-before-persist", ProtocolBugs.AckBeforePersist, "an acceptor answers (promise, accepted) before its state is persisted"),
        ("skip-phase1", ProtocolBugs.SkipPhase1, "a new leader skips phase 1 and proposes without learning accepted values"),
        ("small-quorum", ProtocolBugs.SmallQuorum, "a quorum is one smaller than a majority"),
        ("apply-before-chosen", ProtocolBugs.ApplyBeforeChosen, "a learner applies a slot as soon as it accepts it, before it is chosen"),
        ("skip-fsync", ProtocolBugs.SkipFsync, "the storage acknowledges without fsync, so a crash loses what was acknowledged"),
        ("vote-after-disk-loss", ProtocolBugs.VoteAfterDiskLoss, "a replica that lost its disk votes at once instead of rebuilding as a non-voter"),
        ("skip-validation", ProtocolBugs.SkipMessageValidation, "the core believes peers' messages that break the peer message rules (a forged Accept, a non-member's ballot)"),
        ("candidate-installs-snapshot", ProtocolBugs.CandidateInstallsSnapshot, "a candidate that installs a snapshot during its election still leads on that election's phase 1"),
        ("never-stand-again", ProtocolBugs.NeverStandAgain, "a replica whose candidacy failed never stands again, so the cluster can end with no leader (a liveness bug)"),
        ("rebuild-forgets-lives", ProtocolBugs.RebuildForgetsLives, "a rebuilding replica starts with no knowledge of the other replicas' lives instead of its floor quorum's"),
        ("vote-before-catch-up", ProtocolBugs.VoteBeforeCatchUp, "a rebuilding replica votes once it hears a leader above its floor, before it knows every slot that leader's phase 1 covered"),
        ("answer-write-on-propose", ProtocolBugs.AnswerWriteOnPropose, "the replica driver tells a client its write is done when it is proposed, before it is chosen and applied"),
        ("read-without-read-index", ProtocolBugs.ReadWithoutReadIndex, "the replica driver serves a linearizable read from its own applied state, without a read index confirmed by a quorum"),
        ("compare-at-proposal", ProtocolBugs.CompareAtProposal, "the replica driver evaluates a compare-and-swap's compare when the write arrives, against its own applied state, and proposes the write without it"),
        ("range-without-read-index", ProtocolBugs.RangeWithoutReadIndex, "the replica driver serves a linearizable range read from its own applied state, without a read index"),
        ("revisions-start-at-restore", ProtocolBugs.RevisionsStartAtRestore, "revisions start when a snapshot from before them is restored, not at a point in the log, so replicas upgraded in place number them differently"),
        ("txn-compare-at-proposal", ProtocolBugs.TxnCompareAtProposal, "the replica driver decides a transaction's compares where it arrives, against its own applied state, and proposes the branch without them"),
        ("history-undoes-one-too-many", ProtocolBugs.HistoryUndoesOneTooMany, "a read at a past revision undoes that revision's own changes too, and answers the state one revision earlier"),
        ("watch-starts-one-late", ProtocolBugs.WatchStartsOneLate, "the replica driver serves a watcher from one revision after the start it asked for, so a resumed watcher misses a change"),
        ("watch-drops-when-full", ProtocolBugs.WatchDropsWhenFull, "the replica driver drops the changes a full watch stream cannot take, instead of catching the watcher up from the history"),
        ("leader-keeps-lease-deadlines", ProtocolBugs.LeaderKeepsLeaseDeadlines, "a new leader keeps the lease deadlines it noted at each grant instead of giving every lease its full TTL again, and expires leases kept alive at the old leader"),
        ("configuration-at-once", ProtocolBugs.ConfigurationAtOnce, "a leader takes up a configuration change as soon as it proposes it, not α slots after it is chosen (every run changes membership)"),
        ("learner-votes", ProtocolBugs.LearnerVotes, "learners' promises and acceptances count towards quorums as if they were voters (every run changes membership)"),
        ("handover-skips-phase1", ProtocolBugs.HandoverSkipsPhase1, "a replica the leader hands over to leads at once without phase 1, so a late TimeoutNow overwrites slots chosen after the handover was given up (every run hands over)"),
        ("permissions-ignored", ProtocolBugs.PermissionsIgnored, "the state machine applies a command without checking its user's roles, so a user writes keys outside its grants (runs with authentication)"),
        ("snapshot-drops-auth", ProtocolBugs.SnapshotDropsAuth, "a snapshot leaves out users, roles and whether authentication is on, so a replica restored from one judges writes by other rules than the rest (runs with authentication)"),
        ("watch-outlives-auth-change", ProtocolBugs.WatchOutlivesAuthChange, "the replica driver checks a watcher's user only when the watch is created, so a watch opened before authentication was turned on keeps streaming changes its user may not read (runs with authentication)"),
        ("old-commands-by-oldest-rules", ProtocolBugs.OldCommandsByOldestRules, "commands of encoding 5 are judged without the lease owner rules, so after an upgrade in place from the build that brought them a replica that replays its log lets an attach through that a replica restored from its snapshot refused (runs with authentication upgrade from that build)"),
        ("preferred-leader-skips-window", ProtocolBugs.PreferredLeaderSkipsWindow, "a leader hands over to the preferred voter as soon as it is live and caught up, without the stability window"),
        ("preferred-leader-ignores-readiness", ProtocolBugs.PreferredLeaderIgnoresReadiness, "a leader hands over to the preferred voter although its heartbeats say it may not lead (it hears no quorum; caught in runs with a bridge)"),
        ("handover-ignores-quorum", ProtocolBugs.HandoverIgnoresQuorum, "a replica stands on a TimeoutNow although it hears no quorum of voters, so the leader steps aside for a candidate that cannot win (caught in runs with a bridge)"),
        ("quota-ignored", ProtocolBugs.QuotaIgnored, "the replica driver proposes a write that would take the keys and values past the write quota instead of refusing it before the log (runs with a quota)"),
        ("snapshot-chunk-counted-early", ProtocolBugs.SnapshotChunkCountedEarly, "a learner counts a snapshot chunk that overtook a late one as if every byte before it had arrived, and installs a snapshot with a gap"),
        ("restored-values-moved-wrong", ProtocolBugs.RestoredValuesMovedWrong, "a value restored from a snapshot loses its last byte when it is moved out of the snapshot's array into one of its own, so a replica's state changes without a write"),
        ("command-arrays-reused", ProtocolBugs.CommandArraysReused, "the driver writes over each command's array once its slot is applied, where a put's value is kept as a slice of its command, so a replica's state changes without a write"),
        ("first-write-opens-session", ProtocolBugs.FirstWriteOpensSession, "a client's first write opens its session, so a late copy of it after the session was evicted is applied twice"),
        ("refused-source-asked-again", ProtocolBugs.RefusedSourceAskedAgain, "a learner that refused a peer's damaged snapshot asks the same peer again although another could serve it, so a copy damaged on the source's disk keeps it from catching up (a liveness bug; caught in runs that damage a mapped snapshot)"),
        ("damaged-header-sent", ProtocolBugs.DamagedHeaderSent, "a replica sends the configuration header of its snapshot as its file's mapping holds it, not as it checked it in memory, so a header damaged on disk reaches learners, who then count quorums of a configuration no replica chose"),
    ];

    public static bool TryParse(string name, out ProtocolBugs bug)
    {
        foreach (var entry in All)
        {
            if (string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                bug = entry.Bug;
                return true;
            }
        }

        bug = ProtocolBugs.None;
        return false;
    }
}
