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
    public required int Id { get; init; }

    /// <summary>Every replica's id and host:port, this one included.</summary>
    public required IReadOnlyDictionary<int, string> Endpoints { get; init; }

    /// <summary>Where this replica listens for clients and peers (host:port); defaults to its entry in Endpoints.</summary>
    public string? Listen { get; init; }

    public required string DataDir { get; init; }

    /// <summary>
    /// Whether DataDir must already hold this replica's state (the default), may be initialised as a member of a new
    /// cluster (--new-cluster), or is discarded and rebuilt from the peers as a non-voter (--rebuild-from-peers).
    /// </summary>
    public StorageOpenMode OpenMode { get; init; } = StorageOpenMode.Existing;

    /// <summary>A write-ahead log segment is closed and a new one started at this size.</summary>
    public long WalSegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Real time per core tick; the core's timeouts are counted in ticks.</summary>
    public int TickMs { get; init; } = 10;

    public int HeartbeatIntervalTicks { get; init; } = 5;

    public int ElectionTimeoutTicks { get; init; } = 50;

    public int ElectionStaggerTicks { get; init; } = 50;

    public int ElectionJitterTicks { get; init; } = 10;

    public int RetransmitTicks { get; init; } = 20;

    /// <summary>After a start, wait to hear every peer (or this long) before standing, so the largest id wins the first election.</summary>
    public int InitialElectionDelayTicks { get; init; } = 500;

    /// <summary>How long a request waits for its write to be chosen, or its read to be confirmed, unless the caller's deadline is sooner.</summary>
    public int RequestTimeoutMs { get; init; } = 5_000;

    /// <summary>Take a snapshot and compact the log every this many applied slots...</summary>
    public int SnapshotEverySlots { get; init; } = 10_000;

    /// <summary>...or once this many bytes were logged since the last snapshot, whichever comes first.</summary>
    public long SnapshotEveryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Client sessions the state machine keeps (exactly-once writes); a registration beyond it evicts the least recently
    /// used. Every replica of a cluster must use the same number, or their sessions and answers diverge.
    /// </summary>
    public int SessionsMax { get; init; } = Synod.Kv.KvLimits.SessionsMaxDefault;

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

    /// <summary>The smallest PeerMessageBytesMax that still carries a full catch-up reply (CatchUpBytesMax, 4 MiB, plus one slot and the envelope).</summary>
    public const int PeerMessageBytesMin = 8 * 1024 * 1024;

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

    public ReplicaOptions ToReplicaOptions() => new()
    {
        Id = Id,
        Members = [.. Endpoints.Keys.Order()],
        HeartbeatIntervalTicks = HeartbeatIntervalTicks,
        ElectionTimeoutTicks = ElectionTimeoutTicks,
        ElectionStaggerTicks = ElectionStaggerTicks,
        ElectionJitterTicks = ElectionJitterTicks,
        RetransmitTicks = RetransmitTicks,
        InitialElectionDelayTicks = InitialElectionDelayTicks,
        ProposalWaitTicksMax = Math.Max(1, RequestTimeoutMs / TickMs),
    };

    public StorageOptions ToStorageOptions() => new() { SegmentBytesMax = WalSegmentBytes };

    public void Validate()
    {
        if (!Endpoints.ContainsKey(Id))
        {
            throw new ArgumentException($"--id {Id} is not among the peers ({string.Join(",", Endpoints.Keys.Order())}); list this replica in --peers too.");
        }

        if (Endpoints.Count % 2 == 0)
        {
            throw new ArgumentException($"The cluster has {Endpoints.Count} replicas; use an odd number (3, 5, 7): an even one tolerates no more failures than the odd number below it.");
        }

        if (TickMs < 1)
        {
            throw new ArgumentException("TickMs must be at least 1.");
        }

        if (RequestTimeoutMs < TickMs * ElectionTimeoutTicks)
        {
            throw new ArgumentException($"RequestTimeoutMs ({RequestTimeoutMs}) must be at least one election timeout ({TickMs * ElectionTimeoutTicks} ms), or requests fail during every failover.");
        }

        if (SessionsMax < 1)
        {
            throw new ArgumentException($"SessionsMax (--sessions-max) is {SessionsMax}; it must be at least 1, or no client could write exactly once.");
        }

        if (SnapshotEverySlots < 1 || InputQueueMax < 1 || PeerQueueMessagesMax < 1)
        {
            throw new ArgumentException("SnapshotEverySlots, InputQueueMax and PeerQueueMessagesMax must each be at least 1.");
        }

        ValidatePeerConnections();
        ValidateClientPort();

        if (SnapshotEveryBytes < 1)
        {
            throw new ArgumentException("SnapshotEveryBytes must be at least 1.");
        }

        ToStorageOptions().Validate();
        ToReplicaOptions().Validate();
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

        if (PeerMessageBytesMax < PeerMessageBytesMin)
        {
            throw new ArgumentException($"PeerMessageBytesMax ({PeerMessageBytesMax}) must be at least {PeerMessageBytesMin} bytes, or a full catch-up reply could not reach a lagging replica.");
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
