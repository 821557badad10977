using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Synod.Protocol;

namespace Synod.Chaos;

/// <summary>
/// Heartbeats every replica directly (never through the link proxies, so a partition does not hide a replica): the
/// standard gRPC health service says whether it serves, and the Status RPC says its role, its leader, how far it has
/// applied, and whether it is still rebuilding after a wipe.
/// </summary>
internal sealed class ReplicaMonitor : IDisposable
{
    /// <summary>Shorter than the beat, so a paused replica cannot delay the next round.</summary>
    private const int CallTimeoutMs = 400;

    private readonly Dictionary<int, GrpcChannel> _channels;
    private readonly Dictionary<int, ReplicaHealth> _latest;
    private readonly RunClock _clock;
    private readonly Lock _gate = new();

    public ReplicaMonitor(IReadOnlyDictionary<int, string> endpoints, RunClock clock)
    {
        _clock = clock;
        _channels = endpoints.ToDictionary(e => e.Key, e => GrpcChannel.ForAddress($"http://{e.Value}", new GrpcChannelOptions
        {
            // Replicas restart all the time here; do not let a refused connection back off for seconds.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        }));
        _latest = endpoints.Keys.ToDictionary(id => id, ReplicaHealth.Unknown);
    }

    /// <summary>The latest heartbeat of every replica, by id.</summary>
    public IReadOnlyDictionary<int, ReplicaHealth> Latest
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<int, ReplicaHealth>(_latest);
            }
        }
    }

    /// <summary>One heartbeat round: every replica at once, each bounded by <see cref="CallTimeoutMs"/>.</summary>
    public async Task BeatAsync(CancellationToken cancellation)
    {
        var beats = await Task.WhenAll(_channels.Select(c => BeatOneAsync(c.Key, c.Value, cancellation)));
        lock (_gate)
        {
            foreach (var beat in beats)
            {
                _latest[beat.Id] = beat;
            }
        }
    }

    /// <summary>Reads every key from one replica as it has applied it (a stale read, no quorum), for comparing final states.</summary>
    public async Task<Dictionary<string, string?>> ReadStateAsync(int id, IEnumerable<string> keys, CancellationToken cancellation)
    {
        var client = new Protocol.Kv.KvClient(_channels[id]);
        var state = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            try
            {
                var answer = await client.GetAsync(
                    new GetRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key), Stale = true },
                    deadline: DateTime.UtcNow.AddMilliseconds(CallTimeoutMs * 5), cancellationToken: cancellation);
                state[key] = answer.Value.ToStringUtf8();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                state[key] = null;
            }
        }

        return state;
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private async Task<ReplicaHealth> BeatOneAsync(int id, GrpcChannel channel, CancellationToken cancellation)
    {
        ReplicaHealth previous;
        lock (_gate)
        {
            previous = _latest[id];
        }

        try
        {
            var health = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(), deadline: DateTime.UtcNow.AddMilliseconds(CallTimeoutMs), cancellationToken: cancellation);
            if (health.Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                return previous with { Serving = false };
            }

            var status = await new Protocol.Kv.KvClient(channel).StatusAsync(
                new StatusRequest(), deadline: DateTime.UtcNow.AddMilliseconds(CallTimeoutMs), cancellationToken: cancellation);
            return new ReplicaHealth(
                id, true, _clock.Now, status.Role, (int)status.LeaderId, status.AppliedSlot, status.CommitIndex,
                status.HighestKnownCommit, status.Rebuilding, status.ProcessId, status.Keys);
        }
        catch (RpcException)
        {
            // Down, paused, or still starting: it is simply not serving now.
            return previous with { Serving = false };
        }
    }
}
