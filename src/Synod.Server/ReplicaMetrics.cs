using System.Diagnostics.Metrics;

namespace Synod.Server;

/// <summary>
/// A replica's instruments (docs/operations.md, "Metrics"), on the .NET metrics API: the /metrics endpoint of
/// `serve --http` exports them in the Prometheus text format through OpenTelemetry, which names them as Prometheus asks:
/// "synod.client.requests" becomes synod_client_requests_total, a duration in "s" ends in _seconds, a size in "By" in
/// _bytes; an annotation unit such as "{request}" adds nothing. Every measurement carries the replica's id as the tag
/// "replica". Counters and histograms are recorded where things happen (the owner loop, the request threads); gauges are
/// read from a view of the replica's state that the owner loop publishes every <see cref="GaugeViewEveryMs"/> ms, so a
/// scrape never waits for the loop.
/// </summary>
public sealed class ReplicaMetrics : IDisposable
{
    /// <summary>The meter every Synod instrument belongs to.</summary>
    public const string MeterName = "Synod";

    /// <summary>How often the owner loop publishes the view the gauges read, in milliseconds.</summary>
    public const int GaugeViewEveryMs = 200;

    private readonly Meter _meter;
    private readonly KeyValuePair<string, object?> _replica;
    private HostStatus? _view;
    private PeerView[] _peers = [];

    public ReplicaMetrics(int replicaId)
    {
        _meter = new Meter(MeterName);
        _replica = new("replica", replicaId);
        ClientRequests = _meter.CreateCounter<long>("synod.client.requests", unit: "{request}", description: "Client requests answered, by method and result (ok or the gRPC status).");
        ClientRequestSeconds = _meter.CreateHistogram<double>("synod.client.request.duration", unit: "s", description: "Time from a client request's arrival to its answer, by method.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        SlotsApplied = _meter.CreateCounter<long>("synod.slots.applied", unit: "{slot}", description: "Log slots chosen and applied to the state machine.");
        CommandsPerSlot = _meter.CreateHistogram<long>("synod.slot.commands", unit: "{command}", description: "Commands in each applied slot (the batching of proposals).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        FsyncSeconds = _meter.CreateHistogram<double>("synod.wal.fsync.duration", unit: "s", description: "Duration of each fsync of the write-ahead log (one per group commit).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        RoleChanges = _meter.CreateCounter<long>("synod.role.changes", unit: "{change}", description: "Changes of this replica's role, by the role taken (leader, candidate, follower) and the kind of reason (label reason; the log line has the whole reason).");
        CommitSeconds = _meter.CreateHistogram<double>("synod.write.commit.duration", unit: "s", description: "Time from a client write reaching the replica's owner loop to its slot applied there (consensus and fsyncs, without the network to the client).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _meter.CreateObservableCounter("synod.slots.proposed", () => MeasureCounters(c => c.SlotsProposed), unit: "{slot}", description: "Slots this replica proposed as leader (phase 2 begun; retransmissions not counted).");
        _meter.CreateObservableCounter("synod.read.index.rounds", () => MeasureCounters(c => c.ReadRounds), unit: "{round}", description: "Read-index rounds this replica started as leader (one heartbeat round confirms every linearizable read waiting).");
        _meter.CreateObservableCounter("synod.proposals.expired", () => MeasureCounters(c => c.ExpiredProposals), unit: "{command}", description: "Client commands dropped because no leader took them in time.");
        _meter.CreateObservableCounter("synod.handovers", () => MeasureCounters(c => c.HandoversStarted), unit: "{handover}", description: "Leadership handovers this replica started as leader (graceful stop, removal).");
        _meter.CreateObservableCounter("synod.handovers.given.up", () => MeasureCounters(c => c.HandoversGivenUp), unit: "{handover}", description: "Handovers given up because the target did not take over in time.");
        _meter.CreateObservableCounter("synod.preferred.handovers", () => MeasureCounters(c => c.PreferredHandovers), unit: "{handover}", description: "Handovers this replica started as leader for the preferred-leader rule (also counted in synod.handovers).");
        _meter.CreateObservableCounter("synod.snapshots.refused", () => MeasureCounters(c => c.SnapshotsRefused), unit: "{snapshot}", description: "Snapshots this replica assembled from a peer's chunks that its state machine refused (damaged in transfer or at the source); each is fetched again.");
        _meter.CreateObservableCounter("synod.snapshot.headers.damaged", () => MeasureCounters(c => c.SnapshotHeadersDamaged), unit: "{chunk}", description: "Chunks of this replica's snapshot whose headers (configurations, and the state machine's header), as its file on disk holds them, differed from the ones it checked in memory (the file damaged since it was written or read); they were sent with the header from memory, and the next start refuses the file.");
        _meter.CreateObservableCounter("synod.preferred.handovers.failed", () => MeasureCounters(c => c.PreferredHandoversFailed), unit: "{handover}", description: "Preferred-leader handovers that did not leave their target leading (each doubles the wait before the next one to that target).");
        CandidaciesFailed = _meter.CreateCounter<long>("synod.candidacies.failed", unit: "{candidacy}", description: "Candidacies (elections this replica stood in) that did not make it leader.");
        LoopPassSeconds = _meter.CreateHistogram<double>("synod.loop.pass.duration", unit: "s", description: "Each pass of the owner loop: the inputs drained, the Ready work with its WAL writes and fsyncs, and the answers (a long pass delays this replica's heartbeats and acknowledgements).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        SnapshotsWritten = _meter.CreateCounter<long>("synod.snapshots.written", unit: "{snapshot}", description: "Snapshots this replica took and wrote.");
        SnapshotsTooLarge = _meter.CreateCounter<long>("synod.snapshots.too.large", unit: "{snapshot}", description: "Snapshots that came out over the largest a snapshot may have (1 GiB) and were not taken: the log is kept and grows until the state is smaller.");
        SnapshotSeconds = _meter.CreateHistogram<double>("synod.snapshot.duration", unit: "s", description: "Time to serialise and write a snapshot, on threads beside the owner loop.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60] });
        SnapshotsInstalled = _meter.CreateCounter<long>("synod.snapshots.installed", unit: "{snapshot}", description: "Snapshots installed from a peer (this replica had fallen behind its log).");
        // A counter is exported from its first measurement on: these start at 0, so that a dashboard's rate of them reads
        // 0 rather than "no data" on a replica where nothing has happened yet.
        foreach (var counter in new[] { SlotsApplied, CandidaciesFailed, SnapshotsWritten, SnapshotsInstalled })
        {
            counter.Add(0, _replica);
        }

        foreach (var role in new[] { "leader", "candidate", "follower" })
        {
            RoleChanges.Add(0, _replica, new("role", role), new("reason", "started"));
        }

        _meter.CreateObservableGauge("synod.snapshot.size", () => new Measurement<long>(Volatile.Read(ref _lastSnapshotBytes), _replica), unit: "By", description: "Size of the last snapshot written.");
        _meter.CreateObservableGauge("synod.snapshot.memory", () => new Measurement<long>(Volatile.Read(ref _snapshotMemoryBytes), _replica), unit: "By",
            description: "Bytes of snapshots serialised outside the collected heap and not yet freed: one being written, until the log holds its file instead.");
        _meter.CreateObservableGauge("synod.snapshot.memory.peak", () => new Measurement<long>(Volatile.Read(ref _snapshotMemoryPeakBytes), _replica), unit: "By",
            description: "The most bytes synod.snapshot.memory held at once since this replica started.");
        _meter.CreateObservableGauge("synod.snapshot.receiving.bytes", () => Measure(v => v.Receiving?.ReceivedBytes ?? 0), unit: "By",
            description: "Of the snapshot this replica is receiving from a peer (catching up, or rebuilding), the bytes in so far; 0 when it receives none.");
        _meter.CreateObservableGauge("synod.snapshot.receiving.size", () => Measure(v => v.Receiving?.TotalBytes ?? 0), unit: "By",
            description: "The size of the snapshot this replica is receiving from a peer; 0 when it receives none.");
        _meter.CreateObservableGauge("synod.gc.background", () => new Measurement<int>(CollectorMode.Background ? 1 : 0, _replica),
            description: "1 while full garbage collections run in the background (the collected heap past serve --background-gc-heap-bytes), 0 while they stop the process.");
        _meter.CreateObservableGauge("synod.leader", () => Measure(v => v.Role == "leader" ? 1 : 0), description: "1 while this replica leads, else 0.");
        _meter.CreateObservableGauge("synod.leader.id", () => Measure(v => v.LeaderId ?? 0), description: "The leader this replica knows (0: none).");
        _meter.CreateObservableGauge("synod.commit.index", () => Measure(v => v.CommitIndex), description: "The highest slot this replica knows chosen, with every slot below it.");
        _meter.CreateObservableGauge("synod.applied.slot", () => Measure(v => v.AppliedSlot), description: "The last slot applied to the state machine.");
        _meter.CreateObservableGauge("synod.apply.lag", () => Measure(v => Math.Max(0, v.HighestKnownCommit - v.AppliedSlot)), unit: "{slot}", description: "Slots known chosen somewhere but not yet applied here.");
        _meter.CreateObservableGauge("synod.replicas.live", () => Measure(v => v.LiveReplicas.Count), unit: "{replica}", description: "Replicas this one hears (itself included).");
        _meter.CreateObservableGauge("synod.voters", () => Measure(v => v.Replicas), unit: "{replica}", description: "Voters in the current configuration.");
        _meter.CreateObservableGauge("synod.keys", () => Measure(v => v.Keys), unit: "{key}", description: "Keys in the state machine.");
        _meter.CreateObservableGauge("synod.revision", () => Measure(v => v.Revision), description: "The store's revision.");
        _meter.CreateObservableGauge("synod.quota.used", () => Measure(v => v.DataBytes), unit: "By", description: "Bytes the keys and values take as the write quota counts them (each key with 16 bytes of overhead).");
        _meter.CreateObservableGauge("synod.quota", () => Measure(v => v.QuotaBytes), unit: "By", description: "The write quota (serve --quota-bytes): a write that would take synod.quota.used past it is refused.");
        _meter.CreateObservableCounter("synod.quota.refusals", () => MeasureCounters(c => c.QuotaRefusals), unit: "{write}", description: "Writes this replica refused before the log because they would take the keys and values past the write quota (database space exceeded).");
        _meter.CreateObservableGauge("synod.history.size", () => Measure(v => v.HistoryBytes), unit: "By", description: "Bytes of past revisions kept for reads at a revision and watches.");
        _meter.CreateObservableGauge("synod.wal.size", () => Measure(v => v.WalBytes), unit: "By", description: "Bytes of the write-ahead log on disk.");
        _meter.CreateObservableGauge("synod.wal.segments", () => Measure(v => v.WalSegments), unit: "{segment}", description: "Segment files of the write-ahead log.");
        _meter.CreateObservableCounter("synod.wal.fsyncs", () => Measure(v => v.Fsyncs), unit: "{fsync}", description: "fsyncs of the write-ahead log.");
        _meter.CreateObservableGauge("synod.watchers", () => Measure(v => v.Watchers), unit: "{watcher}", description: "Watchers this replica serves.");
        _meter.CreateObservableGauge("synod.leases", () => Measure(v => v.Leases), unit: "{lease}", description: "Leases live.");
        _meter.CreateObservableGauge("synod.peer.heard.age", () => MeasurePeers(p => p.HeardSeconds), unit: "s",
            description: "Time since this replica last heard each other member (label peer); past the election timeout the member counts as down.");
        _meter.CreateObservableGauge("synod.peer.lag", () => MeasurePeers(p => p.LagSlots), unit: "{slot}",
            description: "How far each other member's last reported commit index lies behind this replica's (label peer).");
        _meter.CreateObservableCounter("synod.peer.messages.refused", () => Measure(v => v.PeerMessagesRefused), unit: "{message}", description: "Peer messages refused as no correct replica could send them.");
    }

    /// <summary>Bucket bounds for latencies, in seconds: 100 µs to 10 s.</summary>
    private static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public Counter<long> ClientRequests { get; }

    /// <summary>The last second of client requests (Status excepted: the dashboard asks it every second), for status and the dashboard.</summary>
    public RecentWindow RecentRequests { get; } = new();

    /// <summary>The last second of WAL fsyncs, for status and the dashboard.</summary>
    public RecentWindow RecentFsyncs { get; } = new();

    public Histogram<double> ClientRequestSeconds { get; }

    public Counter<long> SlotsApplied { get; }

    public Histogram<long> CommandsPerSlot { get; }

    public Histogram<double> FsyncSeconds { get; }

    public Counter<long> RoleChanges { get; }

    public Histogram<double> CommitSeconds { get; }

    /// <summary>Records one write's time from <paramref name="started"/> (a <see cref="TimeProvider"/> timestamp) to its answer in <see cref="CommitSeconds"/>.</summary>
    public void RecordCommit(long started) =>
        CommitSeconds.Record(TimeProvider.System.GetElapsedTime(started).TotalSeconds, _replica);

    /// <summary>
    /// The kind of a role change's reason, for the reason label (bounded: the reasons themselves carry numbers and ids):
    /// elected, election_timeout, handover, higher_ballot, lost_quorum, no_voter, catching_up, rebuild or other.
    /// </summary>
    public static string ReasonKind(string reason) =>
        reason.Contains("handed over", StringComparison.Ordinal) ? "handover"
        : reason.Contains("quorum promised", StringComparison.Ordinal) ? "elected"
        : reason.Contains("pre-vote", StringComparison.Ordinal) || reason.Contains("standing again", StringComparison.Ordinal) ? "election_timeout"
        : reason.Contains("no quorum acknowledged", StringComparison.Ordinal) ? "lost_quorum"
        : reason.Contains("higher ballot", StringComparison.Ordinal) || reason.Contains(" leads at ", StringComparison.Ordinal) || reason.Contains("had promised", StringComparison.Ordinal) ? "higher_ballot"
        : reason.Contains("no voter", StringComparison.Ordinal) ? "no_voter"
        : reason.Contains("catching up", StringComparison.Ordinal) || reason.Contains("snapshot", StringComparison.Ordinal) ? "catching_up"
        : reason.Contains("asked for a ballot", StringComparison.Ordinal) ? "rebuild"
        : "other";

    public Counter<long> CandidaciesFailed { get; }

    public Histogram<double> LoopPassSeconds { get; }

    public Counter<long> SnapshotsWritten { get; }

    /// <summary>Snapshots over the size limit, not taken.</summary>
    public Counter<long> SnapshotsTooLarge { get; }

    public Histogram<double> SnapshotSeconds { get; }

    public Counter<long> SnapshotsInstalled { get; }

    /// <summary>The replica's tag, for measurements recorded elsewhere.</summary>
    public KeyValuePair<string, object?> Replica => _replica;

    private long _lastSnapshotBytes;

    /// <summary>A snapshot was written: counted, timed, and its size kept for its gauge.</summary>
    public void SnapshotWritten(long bytes, double seconds)
    {
        SnapshotsWritten.Add(1, _replica);
        SnapshotSeconds.Record(seconds, _replica);
        Volatile.Write(ref _lastSnapshotBytes, bytes);
    }

    private long _snapshotMemoryBytes;
    private long _snapshotMemoryPeakBytes;

    /// <summary>The bytes of snapshot memory the host holds now, for its gauges (called on the loop).</summary>
    public void SnapshotMemoryHeld(long bytes)
    {
        Volatile.Write(ref _snapshotMemoryBytes, bytes);
        Volatile.Write(ref _snapshotMemoryPeakBytes, Math.Max(Volatile.Read(ref _snapshotMemoryPeakBytes), bytes));
    }

    /// <summary>Publishes the owner loop's view of the replica and of each other member for the gauges (called on the loop).</summary>
    public void Publish(HostStatus status, PeerView[] peers, CoreCounters counters)
    {
        Volatile.Write(ref _view, status);
        Volatile.Write(ref _peers, peers);
        Volatile.Write(ref _counters, counters);
    }

    private CoreCounters? _counters;

    /// <summary>The owner loop's last published view (every GaugeViewEveryMs), for error messages; null before the first.</summary>
    public HostStatus? View => Volatile.Read(ref _view);

    private IEnumerable<Measurement<long>> MeasureCounters(Func<CoreCounters, long> read) =>
        Volatile.Read(ref _counters) is { } counters ? [new Measurement<long>(read(counters), _replica)] : [];

    private IEnumerable<Measurement<double>> MeasurePeers(Func<PeerView, double> read) =>
        Volatile.Read(ref _peers).Select(peer => new Measurement<double>(read(peer), _replica, new("peer", peer.Id)));

    private IEnumerable<Measurement<long>> Measure(Func<HostStatus, long> read) =>
        Volatile.Read(ref _view) is { } view ? [new Measurement<long>(read(view), _replica)] : [];

    public void Dispose() => _meter.Dispose();
}

/// <summary>What the gauges report of one other member: how long since it was heard, and how far behind its commit index lies.</summary>
public sealed record PeerView(int Id, double HeardSeconds, double LagSlots);

/// <summary>The core's running counts, published with the gauges' view.</summary>
public sealed record CoreCounters(long SlotsProposed, long ReadRounds, long ExpiredProposals, long HandoversStarted, long HandoversGivenUp, long PreferredHandovers = 0, long PreferredHandoversFailed = 0, long SnapshotsRefused = 0, long QuotaRefusals = 0, long SnapshotHeadersDamaged = 0);
