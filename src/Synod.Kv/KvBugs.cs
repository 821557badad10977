namespace Synod.Kv;

/// <summary>
/// Rules of the state machine that a test or the simulator can switch off, to prove that the checks which guard them
/// can fail. Never set outside tests and the simulator.
/// </summary>
[Flags]
public enum KvBugs
{
    None = 0,

    /// <summary>
    /// The rule before client ids were assigned through the log: a write with sequence 1 from an id without a session
    /// opens one and is applied. A late copy of a first write whose session was evicted is then applied twice.
    /// </summary>
    FirstWriteOpensSession = 1,

    /// <summary>
    /// Revisions start when a snapshot from before them is restored, instead of at a point in the log: replicas that
    /// restored old snapshots taken at different slots then number revisions differently, for good.
    /// </summary>
    RevisionsStartAtRestore = 2,

    /// <summary>
    /// A read at a past revision undoes the changes of that revision too, so it answers the state one revision
    /// earlier: what a key "was at revision R" then disagrees with what a read at R was told.
    /// </summary>
    HistoryUndoesOneTooMany = 4,

    /// <summary>
    /// A lease expiry takes effect whatever ballot it was proposed under: a deposed or paused leader's expiry, or one a
    /// later leader re-proposed, then ends a lease that the leader now measuring it saw kept alive.
    /// </summary>
    ExpiryIgnoresEpoch = 8,

    /// <summary>Commands are applied without checking their user's roles: a user writes keys outside its grants.</summary>
    PermissionsIgnored = 16,

    /// <summary>
    /// A snapshot leaves out users, roles and whether authentication is on: a replica restored from one judges the
    /// commands after it by other rules than the rest, and their states part.
    /// </summary>
    SnapshotDropsAuth = 32,

    /// <summary>
    /// Commands of encoding 5 are judged by the rules of the build before lease owners (no owner recorded, no owner
    /// check), as a fix once tried: but the build that brought owners wrote encoding 5 too, with the rules, and kept the
    /// owners in its snapshots, so after an upgrade from it a replica that replays its log and one that restored its
    /// snapshot judge an attach differently.
    /// </summary>
    OldCommandsByOldestRules = 64,

    /// <summary>
    /// Moving a value restored from a snapshot out of the snapshot's array (a slice of it until then) into an array of
    /// its own drops the value's last byte: what a replica holds changes without a write, once enough writes have
    /// come after its restore.
    /// </summary>
    RestoredValuesMovedWrong = 128,
}
