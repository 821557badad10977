using Synod.Kv;

namespace Synod.Driver;

/// <summary>The driver's settings; the shell validates them with the rest of its options.</summary>
public sealed record DriverOptions
{
    /// <summary>Client sessions the state machine keeps (serve --sessions-max).</summary>
    public int SessionsMax { get; init; } = KvLimits.SessionsMaxDefault;

    /// <summary>How much history the state machine keeps (serve --history-revisions, --history-bytes).</summary>
    public KvHistoryLimits History { get; init; } = KvHistoryLimits.Default;

    /// <summary>The most watchers one replica serves (serve --watchers-max); a watch beyond it is refused.</summary>
    public int WatchersMax { get; init; } = 10_000;

    /// <summary>The most changes one delivery to a watcher holds (whole revisions: a larger transaction goes whole).</summary>
    public int WatchBatchEventsMax { get; init; } = 1_000;

    /// <summary>The bytes one delivery to a watcher holds at most (whole revisions: one larger revision goes whole).</summary>
    public long WatchBatchBytesMax { get; init; } = 1024 * 1024;

    /// <summary>
    /// Watchers visited by the pumps after applied slots within one tick, at most (the first pump of a tick always runs):
    /// a pump visits every watcher, so this bounds the cost that watchers add to each tick under load.
    /// </summary>
    public int WatchPumpVisitsPerTickMax { get; init; } = 10_000;

    /// <summary>An idle watcher that asked for progress notifications gets one after this many ticks without a message.</summary>
    public int WatchProgressEveryTicks { get; init; } = 1_000;

    /// <summary>The write quota unless configured otherwise: 768 MiB, three quarters of the 1 GiB snapshot limit.</summary>
    public const long QuotaBytesDefault = 768L * 1024 * 1024;

    /// <summary>
    /// The write quota (serve --quota-bytes): a write that would take <see cref="KvStateMachine.DataBytes"/> past it, as
    /// this replica has applied them, is refused with <see cref="ReplicaFailure.NoSpace"/> before it is proposed. A
    /// replica's own admission rule, not part of the state: the writes this replica has in flight are counted
    /// (<see cref="ReplicaDriver.QuotaReserved"/>), but writes proposed at other replicas at the same time may take the
    /// data a little past it, which is why it sits below the snapshot limit.
    /// </summary>
    public long QuotaBytes { get; init; } = QuotaBytesDefault;

    /// <summary>
    /// A replica whose applied state lags what it knows chosen by more than this many slots does not judge the quota (nor
    /// one whose lag could hold more growth than the room left: <see cref="ReplicaDriver.QuotaLagging"/>): a write that
    /// grows the data is refused <see cref="ReplicaFailure.CatchingUp"/> there, and the client takes it to another replica.
    /// </summary>
    public long QuotaLagSlotsMax { get; init; } = 1_000;

    /// <summary>A snapshot is taken once this many slots were applied since the last one.</summary>
    public long SnapshotEverySlots { get; init; } = 10_000;

    /// <summary>A snapshot is taken once the log grew by this many bytes since the last one, or by the last snapshot's size if that is more.</summary>
    public long SnapshotEveryBytes { get; init; } = long.MaxValue;

    /// <summary>A state machine a host restored ahead of the install that needs it (a restart's stored snapshot), or null.</summary>
    public RestoredAhead? RestoredAhead { get; init; }

    /// <summary>The first read id, less one; a per-process random start keeps a late reply to an earlier life from completing a new read.</summary>
    public long FirstReadId { get; init; }

    /// <summary>Waiters whose requests gave up are swept every this many ticks.</summary>
    public int WaiterCleanupEveryTicks { get; init; } = 500;

    /// <summary>
    /// A request still waiting after this many ticks is dropped unanswered by the next sweep, and a write so dropped is
    /// no longer proposed again when the leader changes. The shell's own deadline is shorter (the server sets this to
    /// twice its request timeout); this bounds what a request that was never marked abandoned can leave behind.
    /// </summary>
    public int WaiterTicksMax { get; init; } = 2_000;

    /// <summary>The length of one tick in milliseconds, for converting lease TTLs (seconds) to ticks.</summary>
    public int TickMs { get; init; } = 10;

    /// <summary>A leader looks for leases past their deadline every this many ticks.</summary>
    public int LeaseCheckEveryTicks { get; init; } = 10;

    /// <summary>A leader proposes its epoch or a lease's expiry again after this many ticks if it was not applied.</summary>
    public int LeaseRetryTicks { get; init; } = 100;

    /// <summary>A learner is promoted to voter only while it is at most this many slots behind the leader's commit index.</summary>
    public long PromoteLagSlotsMax { get; init; } = 1_000;

    /// <summary>The most lease expiries a leader proposes per look (LeaseCheckEveryTicks); more due leases wait for the next.</summary>
    public int LeaseExpiriesPerCheckMax { get; init; } = 100;
}
