using Synod.Client;
using Synod.Tests.Cluster;

namespace Synod.Tests.Deploy;

/// <summary>
/// Issue 20, replicas by name: `--peers` may name replicas by host name, as Kubernetes' stable pod names do; a replica
/// resolves a peer's name each time it connects, so the cluster forms, and clients may name the replicas too.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class NamedPeersTests
{
    [Fact]
    public async Task A_cluster_whose_peers_are_named_by_host_name_forms_and_serves_clients_that_name_them_too()
    {
        var endpoints = ReplicaProcesses.NewEndpoints(3);
        var named = endpoints.ToDictionary(e => e.Key, e => e.Value.Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        var peers = string.Join(",", named.Select(e => $"{e.Key}={e.Value}"));
        await using var cluster = new ReplicaProcesses(endpoints, id => ["--peers", peers, "--listen", endpoints[id]]);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await cluster.WaitForAllServingAsync(TimeSpan.FromSeconds(30));

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [.. named.OrderBy(e => e.Key).Select(e => e.Value)], OperationTimeout = TimeSpan.FromSeconds(20) });
        await client.PutAsync("named/greeting", "hello");
        var follower = leader % 3 + 1;
        var read = await client.GetAsync("named/greeting", options: SynodCallOptions.Pinned(follower - 1));
        Assert.Equal("hello", read.ValueAsString());
        Assert.Equal(3, (await cluster.StatusAsync(follower))!.LiveReplicas.Count);
    }
}
