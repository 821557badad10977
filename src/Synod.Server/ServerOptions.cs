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

    /// <summary>Inputs waiting for the owner loop; clients wait (and peers' messages are dropped) beyond this.</summary>
    public int InputQueueMax { get; init; } = 65_536;

    /// <summary>Messages waiting to go to one peer; the oldest are dropped beyond this (Paxos tolerates loss).</summary>
    public int PeerQueueMessagesMax { get; init; } = 16_384;

    /// <summary>Largest single message a peer may send (batches are at most 1 MiB, catch-up 4 MiB, snapshot chunks 1 MiB); a connection sending a larger one is closed.</summary>
    public int PeerMessageBytesMax { get; init; } = 256 * 1024 * 1024;

    /// <summary>Largest client request: a maximal key and value with room for the envelope.</summary>
    public int ClientRequestBytesMax { get; init; } = KvLimits.KeyBytesMax + KvLimits.ValueBytesMax + (64 * 1024);

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

        if (SnapshotEverySlots < 1 || InputQueueMax < 1 || PeerQueueMessagesMax < 1 || PeerMessageBytesMax < 1)
        {
            throw new ArgumentException("SnapshotEverySlots, InputQueueMax, PeerQueueMessagesMax and PeerMessageBytesMax must each be at least 1.");
        }

        if (SnapshotEveryBytes < 1)
        {
            throw new ArgumentException("SnapshotEveryBytes must be at least 1.");
        }

        ToStorageOptions().Validate();
        ToReplicaOptions().Validate();
    }
}
