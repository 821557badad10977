using Grpc.Core;
using Grpc.Net.Client;
using Synod.Protocol;

namespace Synod.Cli;

/// <summary>Asks replicas for their status over gRPC, to find the leader the replicas agree on.</summary>
internal sealed class ClusterProbe : IDisposable
{
    private const int StatusTimeoutMs = 500;
    private readonly Dictionary<int, GrpcChannel> _channels;

    public ClusterProbe(IReadOnlyDictionary<int, string> endpoints, Synod.Client.SynodClientTls? tls = null)
    {
        _channels = endpoints.ToDictionary(e => e.Key, e => GrpcChannel.ForAddress(Synod.Client.SynodClientTls.Address(e.Value, tls), new GrpcChannelOptions
        {
            HttpHandler = Synod.Client.SynodClientTls.Handler(tls),
            // Replicas may still be starting; do not let gRPC back off for seconds after the first refusal.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        }));
    }

    /// <summary>The replica that says it leads, if any answers so.</summary>
    /// <summary>Whether this probe asks replica <paramref name="id"/>.</summary>
    public bool Knows(int id) => _channels.ContainsKey(id);

    public async Task<int?> FindLeaderAsync(CancellationToken cancellation)
    {
        foreach (var (id, channel) in _channels)
        {
            try
            {
                var status = await new Synod.Protocol.Kv.KvClient(channel).StatusAsync(new StatusRequest(),
                    deadline: DateTime.UtcNow.AddMilliseconds(StatusTimeoutMs), cancellationToken: cancellation);
                if (status.Role == "leader")
                {
                    return id;
                }
            }
            catch (RpcException)
            {
                // Down or starting: ask the next one.
            }
        }

        return null;
    }

    public async Task<int?> WaitForLeaderAsync(TimeSpan limit, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await FindLeaderAsync(cancellation) is int leader)
            {
                return leader;
            }

            await Task.Delay(100, cancellation);
        }

        return null;
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}
