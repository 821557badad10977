using Synod.Core;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Server;

/// <summary>
/// One replica's server settings. Limits are named with their unit last; <see cref="Validate"/> rejects a bad
/// configuration at start with a sentence naming the setting.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Every default in one place, for the command line's help and defaults (Id, Endpoints and DataDir are placeholders).</summary>
    public static ServerOptions Defaults => new()
    {
        Id = 1,
        Endpoints = new Dictionary<int, string> { [1] = "127.0.0.1:7001" },
        DataDir = ".",
    };

    public required int Id { get; init; }

    /// <summary>Every replica's id and host:port, this one included.</summary>
    public required IReadOnlyDictionary<int, string> Endpoints { get; init; }

    /// <summary>
    /// The voters of the cluster's first configuration; null: the ids of <see cref="Endpoints"/>. A replica that joined
    /// later (serve --join) has them from the cluster, and lists in Endpoints the members it was told of.
    /// </summary>
    public IReadOnlyList<int>? InitialVoters { get; init; }

    /// <summary>The first configuration's voters, as the core and the cluster id take them.</summary>
    public IReadOnlyList<int> InitialVoterIds => InitialVoters ?? [.. Endpoints.Keys.Order()];

    /// <summary>For a replica that joins (serve --join): the largest id the cluster's configuration held when it joined (its own).</summary>
    public int JoinIdMax { get; init; }

    /// <summary>How long a replica removed from the cluster still answers its peers before it stops (they may need it to catch up).</summary>
    public int RemovedLingerMs { get; init; } = 10_000;

    /// <summary>Where this replica listens for clients and peers (host:port); defaults to its entry in Endpoints.</summary>
    public string? Listen { get; init; }

    /// <summary>The operator's HTTP endpoint (serve --http HOST:PORT): /metrics in the Prometheus text format. Null: none.</summary>
    public string? HttpEndpoint { get; init; }

    /// <summary>How log lines are written (serve --log-format): one line of text, or one JSON object per line.</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Text;

    /// <summary>The least severe log lines written (serve --log-level): Debug, Information (the default), Warning, Error.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>TLS for clients (--tls-cert, --tls-key, --tls-client-ca); null: clients speak plaintext HTTP/2.</summary>
    public ClientTls? ClientTls { get; init; }

    /// <summary>The most entries --peer-routes may give (one per replica id a cluster may ever use is plenty).</summary>
    public const int PeerRoutesMax = 64;

    /// <summary>
    /// Where this replica dials a peer instead of the endpoint the configuration (or --peers) gives it (--peer-routes
    /// ID=HOST:PORT,...): a local route, for a network between the replicas that the configuration does not describe,
    /// such as the link proxies of `synod chaos`. Clients and the configuration keep the peer's own endpoint.
    /// </summary>
    public IReadOnlyDictionary<int, string> PeerRoutes { get; init; } = new Dictionary<int, string>();

    /// <summary>Where this replica dials peer <paramref name="id"/>: its route if it has one, else <paramref name="endpoint"/>.</summary>
    public string DialEndpoint(int id, string endpoint) => PeerRoutes.TryGetValue(id, out var route) ? route : endpoint;

    public required string DataDir { get; init; }

    /// <summary>The token --cluster-token gives when none is: two clusters that both keep it differ only by their ids.</summary>
    public const string ClusterTokenDefault = "synod";

    /// <summary>The longest --cluster-token, in characters.</summary>
    public const int ClusterTokenCharsMax = 256;

    /// <summary>
    /// Names this cluster, with the replica ids (--cluster-token; `synod cluster` draws a random one and keeps it in its
    /// cluster.json): see <see cref="ClusterId"/>.
    /// </summary>
    public string ClusterToken { get; init; } = ClusterTokenDefault;

    /// <summary>
    /// The cluster's id: the first 8 bytes of SHA-256 over the token and the sorted replica ids (never 0). It is stamped
    /// in synod.meta when a data directory is initialised and checked at every start, and every peer's hello carries it:
    /// a replica of another cluster, or a data directory of another cluster, is refused with both ids named.
    /// </summary>
    public ulong ClusterId
    {
        get
        {
            var text = $"synod-cluster\n{ClusterToken}\n{string.Join(",", InitialVoterIds.Order())}";
            var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
            return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) | 1;
        }
    }

    /// <summary>
    /// Whether DataDir must already hold this replica's state (the default), may be initialised as a member of a new
    /// cluster (--new-cluster), or is discarded and rebuilt from the peers as a non-voter (--rebuild-from-peers).
    /// </summary>
    public StorageOpenMode OpenMode { get; init; } = StorageOpenMode.Existing;

    /// <summary>
    /// The real server's core timing: ticks of <see cref="TickMs"/> (10 ms), so a 500 ms election timeout, heartbeats
    /// every 50 ms, and a 5 s wait to hear every peer after a start so that the largest id wins the first election.
    /// The core's own defaults are the simulator's (shorter); every other core limit keeps the core's default.
    /// </summary>
    public static readonly ReplicaOptions CoreDefaults = new()
    {
        Id = 1,
        Members = [1],
        HeartbeatIntervalTicks = 5,
        ElectionTimeoutTicks = 50,
        ElectionStaggerTicks = 50,
        ElectionJitterTicks = 10,
        RetransmitTicks = 20,
        InitialElectionDelayTicks = 500,
    };

    /// <summary>
    /// The consensus core's settings (timeouts in ticks, pipeline, batch, catch-up and promise limits). Id and Members
    /// here are placeholders: <see cref="ToReplicaOptions"/> sets them from <see cref="Id"/> and <see cref="Endpoints"/>,
    /// and ProposalWaitTicksMax from <see cref="RequestTimeoutMs"/>.
    /// </summary>
    public ReplicaOptions Core { get; init; } = CoreDefaults;

    /// <summary>The storage's settings: WAL segment and record sizes, the largest snapshot.</summary>
    public StorageOptions Storage { get; init; } = new();

    /// <summary>The most leases one list answer holds (synod lease list); past it the answer says "more".</summary>
    public int LeasesListMax { get; init; } = 100_000;

    /// <summary>Real time per core tick; the core's timeouts are counted in ticks.</summary>
    public int TickMs { get; init; } = 10;

    /// <summary>
    /// Which replica leads once it can (--preferred-leader): <see cref="ReplicaOptions.PreferLargestId"/> (the default),
    /// <see cref="ReplicaOptions.PreferNone"/>, or a replica id (docs/protocol.md, "Preferred leader").
    /// </summary>
    public int PreferredLeader { get; init; } = ReplicaOptions.PreferLargestId;

    /// <summary>
    /// The stability window (--preferred-leader-window): the preferred voter must have been up and heard without a gap
    /// this long before the leader hands over to it, and a leader starts at most one such handover per window.
    /// </summary>
    public int PreferredLeaderStableMs { get; init; } = 3000;

    /// <summary>How far behind the leader's commit index the preferred voter may be and count as caught up (--preferred-leader-lag-slots).</summary>
    public int PreferredLeaderLagSlotsMax { get; init; } = 64;

    /// <summary>
    /// How long a replica told to stop (SIGTERM, Ctrl-C) may take to leave gracefully, in milliseconds (serve
    /// --shutdown-drain): a leader hands leadership to the most up-to-date voter and every replica answers the client
    /// requests it holds before it closes its port. 0: stop at once, as before (an election follows a leader's stop).
    /// </summary>
    public int ShutdownDrainMs { get; init; } = 3_000;

    /// <summary>The largest <see cref="ShutdownDrainMs"/>: the CLI gives a stopping command 15 s before it ends the process.</summary>
    public const int ShutdownDrainMsMax = 10_000;

    /// <summary>How long a request waits for its write to be chosen, or its read to be confirmed, unless the caller's deadline is sooner.</summary>
    public int RequestTimeoutMs { get; init; } = 5_000;

    /// <summary>Take a snapshot and compact the log every this many applied slots...</summary>
    public int SnapshotEverySlots { get; init; } = 10_000;

    /// <summary>...or once this many bytes were logged since the last snapshot, whichever comes first.</summary>
    public long SnapshotEveryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The collected heap's size from which full garbage collections run in the background instead of stopping the
    /// process (--background-gc-heap-bytes, 1 GiB; back to blocking ones below half of it; 0: always in the background).
    /// Blocking collections are the faster kind for a small heap; for a heap of millions of keys they stop a replica for
    /// seconds (<see cref="CollectorMode"/>). Read only by `synod serve`'s process, which owns the collector.
    /// </summary>
    public long BackgroundGcHeapBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Client sessions the state machine keeps (exactly-once writes); a registration beyond it evicts the least recently
    /// used. Every replica of a cluster must use the same number, or their sessions and answers diverge.
    /// </summary>
    public int SessionsMax { get; init; } = Synod.Kv.KvLimits.SessionsMaxDefault;

    /// <summary>
    /// The most revisions of history kept for reads at a past revision and for watchers catching up (--history-revisions);
    /// older changes are compacted. Every replica should use the same, or a read at an old revision may be served by one
    /// replica and refused by another.
    /// </summary>
    public long HistoryRevisions { get; init; } = Synod.Kv.KvHistoryLimits.RevisionsDefault;

    /// <summary>The most bytes of history kept (--history-bytes), whichever of the two bounds comes first.</summary>
    public long HistoryBytes { get; init; } = Synod.Kv.KvHistoryLimits.BytesDefault;

    /// <summary>
    /// The write quota in bytes (--quota-bytes, 768 MiB): a put or transaction that would take the keys and values
    /// (each counted with 16 bytes of overhead) past it is refused with "database space exceeded" before it is proposed.
    /// Below the 1 GiB snapshot limit, so that the whole state, its history, sessions and leases fit one snapshot.
    /// </summary>
    public long QuotaBytes { get; init; } = Synod.Driver.DriverOptions.QuotaBytesDefault;

    /// <summary>
    /// What a snapshot holds besides the keys, values and history, at most, with writes in flight at other replicas
    /// (128 MiB): users and roles stay under 64 MiB, leases' own records under a few tens; the quota, the history and the
    /// sessions (<see cref="SessionSnapshotBytesMax"/> each) must leave this much of the snapshot limit.
    /// </summary>
    public const long SnapshotReserveBytes = 128L * 1024 * 1024;

    /// <summary>The most one client session takes in a snapshot (210 bytes: its id, sequence, status, slot and revisions, and its user's name).</summary>
    public const int SessionSnapshotBytesMax = 210;

    /// <summary>
    /// The largest write quota that leaves the whole state within one snapshot of <paramref name="snapshotBytesMax"/>
    /// bytes, beside <paramref name="historyBytes"/> of history, <paramref name="sessionsMax"/> sessions and
    /// <see cref="SnapshotReserveBytes"/> (negative when none fits).
    /// </summary>
    public static long QuotaBytesMax(long snapshotBytesMax, long historyBytes, int sessionsMax) =>
        snapshotBytesMax - historyBytes - SnapshotReserveBytes - ((long)sessionsMax * SessionSnapshotBytesMax);

    /// <summary>The most watchers this replica serves in all (--watchers-max, 10,000); a watch beyond it is refused, naming it, and the client watches at another replica. Each applied slot costs the owner loop a little for every watcher, which is what this bounds.</summary>
    public int WatchersMax { get; init; } = 10_000;

    /// <summary>The most watchers one watch stream may hold (--watchers-per-stream-max).</summary>
    public int WatchersPerStreamMax { get; init; } = 10_000;

    /// <summary>
    /// The bytes one watch stream may have queued for its client (--watch-stream-bytes-max, 4 MiB): past it its watchers
    /// fall back to the history until the client reads on.
    /// </summary>
    public long WatchStreamBytesMax { get; init; } = 4L * 1024 * 1024;

    /// <summary>
    /// The bytes all watch streams together may have queued for their clients (--watch-bytes-max, 256 MiB): past it a
    /// stream is sent more only once its client has read all it had (its watchers catch up from the history), so that
    /// streams that do not read hold at most this and one batch each, and a stream that reads is never starved by them.
    /// </summary>
    public long WatchBytesMax { get; init; } = 256L * 1024 * 1024;

    /// <summary>An idle watcher that asked for progress notifications gets one after this long without a message (--watch-progress-interval).</summary>
    public int WatchProgressIntervalMs { get; init; } = 10_000;

    /// <summary>How long a token from Authenticate is good for (serve --auth-token-ttl): etcd's 5 minutes; the client library signs in again before it runs out.</summary>
    public int AuthTokenTtlMs { get; init; } = 300_000;

    /// <summary>The shortest and longest <see cref="AuthTokenTtlMs"/>: a second, a day.</summary>
    public const int AuthTokenTtlMsMin = 1_000;
    public const int AuthTokenTtlMsMax = 86_400_000;

    /// <summary>Inputs waiting for the owner loop; clients wait (and peers' messages are dropped) beyond this.</summary>
    public int InputQueueMax { get; init; } = 65_536;

    /// <summary>Messages waiting to go to one peer; the oldest are dropped beyond this (Paxos tolerates loss).</summary>
    public int PeerQueueMessagesMax { get; init; } = 16_384;

    // Peer connections: who may speak as a replica, and what one connection may make this replica hold.

    /// <summary>
    /// This replica's certificate and key and the cluster's CA (`synod certs`): peers connect over TLS 1.3 and must show
    /// a certificate of this cluster's CA that names them. Null only together with <see cref="InsecurePeers"/>.
    /// </summary>
    public PeerCredentials? PeerCredentials { get; init; }

    /// <summary>Plain TCP between replicas: any process that reaches the port may speak as a replica (--insecure-peers).</summary>
    public bool InsecurePeers { get; init; }

    /// <summary>
    /// Largest single message a peer may announce; a connection announcing a larger one is closed. The largest a
    /// correct replica sends is a Promise of at most 64 MiB of commands (the core's PromiseBytesMax) plus its
    /// envelope; catch-up replies are at most about 6 MiB and snapshot chunks 1 MiB. The receiver holds only the bytes
    /// that arrived, so this bounds what one live link can make it hold, not what a claim allocates.
    /// </summary>
    public int PeerMessageBytesMax { get; init; } = 72 * 1024 * 1024;

    /// <summary>
    /// How long a new connection may take to say what it is (its first bytes) and, for a peer, to finish TLS and the
    /// hello; a connection that sends part of a peer magic or of the HTTP/2 preface and then nothing is closed after it.
    /// </summary>
    public int PeerHandshakeTimeoutMs { get; init; } = 5_000;

    /// <summary>Peer handshakes (not yet authenticated) under way at once; beyond this a new one is closed at once.</summary>
    public int PeerHandshakesMax { get; init; } = 64;

    /// <summary>
    /// A message whose first bytes arrived must arrive whole within this; a link that stalls mid-message is closed.
    /// 30 s lets a 72 MiB message cross a link of 2.5 MB/s.
    /// </summary>
    public int PeerFrameTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// Room for a promise's framing beyond its commands: per entry a slot, a ballot, a batch count and per command a
    /// length (at most PromiseEntriesMax entries of BatchCommandsMax commands), with margin.
    /// </summary>
    private const int PeerMessageEnvelopeBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Room for an Accept's or a catch-up reply's framing beyond its commands: per entry a slot, a ballot, a batch count
    /// and per command a length (CatchUpEntriesMax entries of BatchCommandsMax commands come to about 140 KiB), with margin.
    /// </summary>
    private const int FrameEnvelopeBytes = 1024 * 1024;

    /// <summary>Largest client request: a maximal key and value with room for the envelope.</summary>
    public int ClientRequestBytesMax { get; init; } = KvLimits.KeyBytesMax + KvLimits.ValueBytesMax + (64 * 1024);

    // The client port: what clients, and anything else that reaches it, may make this replica hold.

    /// <summary>
    /// Connections open at once on the listen port, clients' and peers' together; Kestrel closes a new one beyond
    /// this at once. Each costs a few KiB idle; what streams on it may hold is bounded below.
    /// </summary>
    public int ConnectionsMax { get; init; } = 4_096;

    /// <summary>
    /// Requests in flight at once on one client connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). The client
    /// library opens another connection when one is full.
    /// </summary>
    public int ClientStreamsPerConnectionMax { get; init; } = 128;

    /// <summary>
    /// Bytes of values in read responses that one connection's reader has not yet taken. A read that would go beyond
    /// it is answered RESOURCE_EXHAUSTED, so a client that never reads holds at most this much of the replica's memory
    /// per connection. At least one maximal value, so that every value can be read.
    /// </summary>
    public long ClientResponseBytesPerConnectionMax { get; init; } = 8L * 1024 * 1024;

    /// <summary>The same, summed over every connection: the most that slow readers together can make a replica hold.</summary>
    public long ClientResponseBytesMax { get; init; } = 256L * 1024 * 1024;

    public string ListenEndpoint => Listen ?? Endpoints[Id];

    public ReplicaOptions ToReplicaOptions() => Core with
    {
        Id = Id,
        Members = InitialVoterIds,
        MemberIdMax = JoinIdMax,
        ProposalWaitTicksMax = Math.Max(1, RequestTimeoutMs / Math.Max(1, TickMs)),
        PreferredLeader = PreferredLeader,
        PreferredLeaderStableTicks = Math.Max(1, PreferredLeaderStableMs / Math.Max(1, TickMs)),
        PreferredLeaderLagSlotsMax = PreferredLeaderLagSlotsMax,
        SnapshotArrayAllocator = Core.SnapshotArrayAllocator ?? LargeArrays.AllocateUninitialized,
    };

    /// <summary>The replica driver's settings, in ticks where it counts ticks; each call draws a new random first read id.</summary>
    public Synod.Driver.DriverOptions ToDriverOptions() => new()
    {
        SessionsMax = SessionsMax,
        History = new KvHistoryLimits(HistoryRevisions, HistoryBytes),
        WatchersMax = WatchersMax,
        WatchProgressEveryTicks = Math.Max(1, WatchProgressIntervalMs / TickMs),
        SnapshotEverySlots = SnapshotEverySlots,
        SnapshotEveryBytes = SnapshotEveryBytes,
        QuotaBytes = QuotaBytes,
        // Read ids start at a per-process random point, so that a read-index reply addressed to an earlier life of this
        // replica (delivered late after a quick restart) cannot complete a new read with an old index.
        FirstReadId = Random.Shared.NextInt64(1, long.MaxValue / 2),
        TickMs = TickMs,
        // A backstop: every request's own deadline (RequestTimeoutMs at most) has passed by then.
        WaiterTicksMax = Math.Max(1, 2 * RequestTimeoutMs / TickMs),
    };

    public void Validate()
    {
        if (!Endpoints.ContainsKey(Id))
        {
            throw new ArgumentException($"--id {Id} is not among the peers ({string.Join(",", Endpoints.Keys.Order())}); list this replica in --peers too.");
        }

        ReplicaOptions.RequireOddReplicaCount(InitialVoterIds.Count, InitialVoters is null ? "--peers" : "the cluster's first configuration", 1);
        if (RemovedLingerMs < 0)
        {
            throw new ArgumentException($"RemovedLingerMs ({RemovedLingerMs}) must not be negative.");
        }
        foreach (var (id, endpoint) in Endpoints.Append(new(0, ListenEndpoint)))
        {
            if (!Synod.Protocol.HostPort.TryParse(endpoint, out _, out _, out var problem))
            {
                throw new ArgumentException($"{(id == 0 ? "--listen" : $"replica {id}'s endpoint in --peers")} {problem}");
            }
        }

        if (HttpEndpoint is not null)
        {
            if (!Synod.Protocol.HostPort.TryParse(HttpEndpoint, out _, out var httpPort, out var httpProblem))
            {
                throw new ArgumentException($"--http {httpProblem}");
            }

            if (Synod.Protocol.HostPort.TryParse(ListenEndpoint, out _, out var listenPort, out _) && listenPort == httpPort)
            {
                throw new ArgumentException($"--http {HttpEndpoint} takes the port of --listen {ListenEndpoint}; give the HTTP endpoint a port of its own.");
            }
        }

        if (PeerRoutes.Count > PeerRoutesMax)
        {
            throw new ArgumentException($"--peer-routes gives {PeerRoutes.Count} routes; give at most {PeerRoutesMax} (PeerRoutesMax), one per peer id.");
        }

        foreach (var (id, route) in PeerRoutes)
        {
            if (id < 1 || id > Synod.Core.Configuration.ReplicaIdMax || id == Id)
            {
                throw new ArgumentException($"--peer-routes names replica {id}: give routes for other replicas' ids, 1 to {Synod.Core.Configuration.ReplicaIdMax}, not this replica's own.");
            }

            if (!Synod.Protocol.HostPort.TryParse(route, out _, out _, out var problem))
            {
                throw new ArgumentException($"replica {id}'s route in --peer-routes {problem}");
            }
        }
        if (string.IsNullOrWhiteSpace(ClusterToken) || ClusterToken.Length > ClusterTokenCharsMax)
        {
            throw new ArgumentException($"--cluster-token must be 1 to {ClusterTokenCharsMax} characters, not blank; every replica of one cluster gives the same one.");
        }

        if (ShutdownDrainMs is < 0 or > ShutdownDrainMsMax)
        {
            throw new ArgumentException(ShutdownDrainMs < 0
                ? $"--shutdown-drain is not a duration; give one such as 3s or 500ms, from 0 (stop at once) to {ShutdownDrainMsMax} ms."
                : $"--shutdown-drain {ShutdownDrainMs} ms is too long; use 0 (stop at once) to {ShutdownDrainMsMax} ms.");
        }

        if (TickMs < 1)
        {
            throw new ArgumentException("TickMs must be at least 1.");
        }

        if (RequestTimeoutMs < TickMs * Core.ElectionTimeoutTicks)
        {
            throw new ArgumentException($"RequestTimeoutMs ({RequestTimeoutMs}) must be at least one election timeout ({TickMs * Core.ElectionTimeoutTicks} ms), or requests fail during every failover.");
        }

        if (PreferredLeader > 0 && !Endpoints.ContainsKey(PreferredLeader) && PreferredLeader > JoinIdMax)
        {
            throw new ArgumentException($"--preferred-leader {PreferredLeader} names no replica of this cluster ({string.Join(",", Endpoints.Keys.Order())}); name one of them, largest-id or none.");
        }

        if (PreferredLeaderStableMs < TickMs * Core.ElectionTimeoutTicks || PreferredLeaderLagSlotsMax < 0)
        {
            throw new ArgumentException($"--preferred-leader-window ({PreferredLeaderStableMs} ms) must be at least one election timeout ({TickMs * Core.ElectionTimeoutTicks} ms), and --preferred-leader-lag-slots ({PreferredLeaderLagSlotsMax}) must not be negative.");
        }

        if (AuthTokenTtlMs is < AuthTokenTtlMsMin or > AuthTokenTtlMsMax)
        {
            throw new ArgumentException($"AuthTokenTtlMs (--auth-token-ttl) is {AuthTokenTtlMs} ms; it must lie between {AuthTokenTtlMsMin} ms and {AuthTokenTtlMsMax} ms (a day).");
        }

        if (SessionsMax < 1)
        {
            throw new ArgumentException($"SessionsMax (--sessions-max) is {SessionsMax}; it must be at least 1, or no client could write exactly once.");
        }

        if (WatchBytesMax < WatchStreamBytesMax)
        {
            throw new ArgumentException($"WatchBytesMax (--watch-bytes-max, {WatchBytesMax}) is below WatchStreamBytesMax (--watch-stream-bytes-max, {WatchStreamBytesMax}); all streams together must hold at least one stream's bound.");
        }

        if (WatchersMax < 1 || WatchersPerStreamMax < 1 || WatchStreamBytesMax < 1024 || WatchProgressIntervalMs < TickMs)
        {
            throw new ArgumentException(
                $"WatchersMax (--watchers-max, {WatchersMax}) and WatchersPerStreamMax (--watchers-per-stream-max, {WatchersPerStreamMax}) must be at least 1, WatchStreamBytesMax (--watch-stream-bytes-max, {WatchStreamBytesMax}) at least 1024 bytes, and WatchProgressIntervalMs (--watch-progress-interval, {WatchProgressIntervalMs} ms) at least one tick ({TickMs} ms).");
        }

        if (HistoryRevisions < 1)
        {
            throw new ArgumentException($"HistoryRevisions (--history-revisions) is {HistoryRevisions}; it must be at least 1 (the newest revision is always kept).");
        }

        if (HistoryBytes < 0)
        {
            throw new ArgumentException($"HistoryBytes (--history-bytes) is {HistoryBytes}; it must be 0 or more bytes (0 keeps only the newest revision's changes).");
        }

        if (QuotaBytes < 1)
        {
            throw new ArgumentException($"QuotaBytes (--quota-bytes) is {QuotaBytes}; it must be at least 1 byte.");
        }

        if (SnapshotEverySlots < 1 || InputQueueMax < 1 || PeerQueueMessagesMax < 1)
        {
            throw new ArgumentException("SnapshotEverySlots, InputQueueMax and PeerQueueMessagesMax must each be at least 1.");
        }

        ValidatePeerConnections();
        ValidateClientPort();

        if (BackgroundGcHeapBytes < 0)
        {
            throw new ArgumentException($"BackgroundGcHeapBytes (--background-gc-heap-bytes) is {BackgroundGcHeapBytes}; it must be 0 (always collect in the background) or more bytes.");
        }

        if (SnapshotEveryBytes < 1)
        {
            throw new ArgumentException("SnapshotEveryBytes must be at least 1.");
        }

        Storage.Validate();
        ToReplicaOptions().Validate();
        ValidateAcrossLayers();
    }

    /// <summary>What one layer's limit must leave room for in another's, each named in its sentence.</summary>
    private void ValidateAcrossLayers()
    {
        var core = ToReplicaOptions();
        // A batch is logged as one record: up to BatchBytesMax of commands, plus one command that may overflow it.
        var largestBatch = (long)core.BatchBytesMax + ClientRequestBytesMax;
        if (Storage.RecordBytesMax < largestBatch)
        {
            throw new ArgumentException($"the storage's RecordBytesMax ({Storage.RecordBytesMax}) must hold the core's largest batch, BatchBytesMax ({core.BatchBytesMax}) plus one ClientRequestBytesMax ({ClientRequestBytesMax}) command, or a chosen batch could not be logged.");
        }

        var sessionBytes = (long)SessionsMax * SessionSnapshotBytesMax;
        var quotaMax = QuotaBytesMax(core.SnapshotBytesMax, HistoryBytes, SessionsMax);
        if (QuotaBytes > quotaMax)
        {
            // The largest quota these settings allow is named: a user raising the quota should not have to work it out.
            var allowed = quotaMax > 0 ? $"with these settings --quota-bytes may be at most {quotaMax}" : "with these settings no quota fits";
            throw new ArgumentException($"QuotaBytes (--quota-bytes, {QuotaBytes}) plus HistoryBytes (--history-bytes, {HistoryBytes}), {sessionBytes} bytes for SessionsMax (--sessions-max, {SessionsMax}) sessions and {SnapshotReserveBytes} bytes kept for users, roles, leases and writes in flight pass the largest snapshot, SnapshotBytesMax ({core.SnapshotBytesMax}): the whole state goes in one snapshot, and a state that does not fit cannot bring a new or wiped replica up to date. Lower --quota-bytes ({allowed}), --history-bytes or --sessions-max.");
        }

        if (Storage.SnapshotBytesMax < core.SnapshotBytesMax)
        {
            throw new ArgumentException($"the storage's SnapshotBytesMax ({Storage.SnapshotBytesMax}) must be at least the core's SnapshotBytesMax ({core.SnapshotBytesMax}), or a snapshot the core takes from a peer could not be kept.");
        }

        foreach (var (name, bytes) in new[]
        {
            ("an Accept of the core's largest batch", largestBatch),
            ("a catch-up reply of CatchUpBytesMax plus one batch", core.CatchUpBytesMax + largestBatch),
            ("a snapshot chunk of SnapshotChunkBytes", (long)core.SnapshotChunkBytes),
        })
        {
            if (PeerMessageBytesMax < bytes + FrameEnvelopeBytes)
            {
                throw new ArgumentException($"PeerMessageBytesMax ({PeerMessageBytesMax}) must hold {name} ({bytes} bytes) and {FrameEnvelopeBytes} bytes of envelope, or it could not reach its peer.");
            }
        }
    }

    private void ValidatePeerConnections()
    {
        if (PeerCredentials is null && !InsecurePeers)
        {
            throw new ArgumentException(
                "peers must be authenticated: give --peer-cert, --peer-key and --peer-ca (make them with ./synod certs --out DIR), or --insecure-peers to let any process that reaches the port speak as a replica.");
        }

        if (PeerCredentials is not null && InsecurePeers)
        {
            throw new ArgumentException("give --peer-cert, --peer-key and --peer-ca, or --insecure-peers, not both.");
        }

        if (PeerCredentials is { } credentials && credentials.Identity.Id != Id)
        {
            throw new ArgumentException($"PeerCredentials are replica {credentials.Identity.Id}'s, but this is --id {Id}; give replica {Id}'s certificate and key.");
        }

        var promiseBytesMax = ToReplicaOptions().PromiseBytesMax;
        if (PeerMessageBytesMax < promiseBytesMax + PeerMessageEnvelopeBytes)
        {
            throw new ArgumentException($"PeerMessageBytesMax ({PeerMessageBytesMax}) must exceed the core's PromiseBytesMax ({promiseBytesMax}) by {PeerMessageEnvelopeBytes} bytes of envelope, or a full promise could not reach its candidate.");
        }

        if (PeerHandshakeTimeoutMs < 1 || PeerFrameTimeoutMs < 1)
        {
            throw new ArgumentException("PeerHandshakeTimeoutMs and PeerFrameTimeoutMs must each be at least 1 ms.");
        }

        if (PeerHandshakesMax < Endpoints.Count)
        {
            throw new ArgumentException($"PeerHandshakesMax ({PeerHandshakesMax}) must be at least the cluster's {Endpoints.Count} replicas, or the peers' own reconnects after a restart could be turned away.");
        }
    }

    private void ValidateClientPort()
    {
        // Every peer holds one connection to this replica, and a restarted one may briefly hold a second.
        var peerConnections = 2 * (Endpoints.Count - 1);
        if (ConnectionsMax <= peerConnections)
        {
            throw new ArgumentException($"ConnectionsMax ({ConnectionsMax}) must exceed the {peerConnections} connections the peers may hold, or no client could connect.");
        }

        if (ClientStreamsPerConnectionMax < 1)
        {
            throw new ArgumentException($"ClientStreamsPerConnectionMax ({ClientStreamsPerConnectionMax}) must be at least 1.");
        }

        if (ClientResponseBytesPerConnectionMax < KvLimits.ValueBytesMax)
        {
            throw new ArgumentException($"ClientResponseBytesPerConnectionMax ({ClientResponseBytesPerConnectionMax}) must be at least ValueBytesMax ({KvLimits.ValueBytesMax} bytes), or the largest value could never be read.");
        }

        if (ClientResponseBytesMax < ClientResponseBytesPerConnectionMax)
        {
            throw new ArgumentException($"ClientResponseBytesMax ({ClientResponseBytesMax}) must be at least ClientResponseBytesPerConnectionMax ({ClientResponseBytesPerConnectionMax}).");
        }
    }
}

/// <summary>How a replica writes its log lines (serve --log-format).</summary>
public enum LogFormat
{
    /// <summary>One line of text per event, with a time of day: for people.</summary>
    Text,

    /// <summary>One JSON object per line (timestamp, level, category, message, and the message's named values): for machines.</summary>
    Json,
}
