using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// The replica-to-replica connection (src/Synod.Server/PeerWire.cs) shares the client port: what a stranger, a
/// misconfigured peer or a broken one sends there is refused or dropped, and the replica keeps serving.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class PeerWireTests
{
    private static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_peer_of_a_differently_sized_cluster_is_refused_with_a_reason_that_names_the_fix()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var certificate = LoadCertificate(cluster, 2);

        await using var peer = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        var (status, reason) = await peer.SayHelloAsync(from: 2, clusterSize: 5);

        Assert.Equal(1, status);
        Assert.Contains("a cluster that began with 5 replicas", reason);
        Assert.Contains("Check --peers", reason);
        Assert.True(await peer.ClosedByReplicaAsync(), "the replica should close the connection after its refusal");
        Assert.Contains("Check --peers", await LogOnceItHasAsync(cluster, 1, "Check --peers"));
    }

    [Fact]
    public async Task A_replica_of_another_cluster_is_refused_with_both_cluster_ids_named()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var certificate = LoadCertificate(cluster, 2);
        var ours = PeerDialer.ClusterIdOf(3);
        var theirs = PeerDialer.ClusterIdOf(3, token: "another-cluster");

        await using var peer = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        var (status, reason) = await peer.SayHelloAsync(from: 2, clusterSize: 3, clusterId: theirs);

        Assert.Equal(1, status);
        Assert.Contains($"cluster {ours:x16}", reason);
        Assert.Contains($"cluster {theirs:x16}", reason);
        Assert.Contains("--cluster-token", reason);
        Assert.True(await peer.ClosedByReplicaAsync(), "the replica should close the connection after its refusal");
        // Wait for the refusal's own line: the start's warning about the default token mentions --cluster-token too.
        Assert.Contains("--cluster-token", await LogOnceItHasAsync(cluster, 1, $"cluster {theirs:x16}"));
        // Both clusters kept the default token; each replica warned at its start that nothing but the ids names it.
        Assert.Contains("starts a new cluster with the default --cluster-token \"synod\"", cluster.Log(2));
    }

    [Fact]
    public async Task A_replica_of_another_synod_build_is_refused_with_both_peer_protocols_named()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        await using var peer = await PeerDialer.ConnectAsync(cluster.Endpoints[1]);
        await peer.WriteAsync("SYNODPT3"u8.ToArray());
        var (status, reason) = await peer.ReadAnswerAsync();

        Assert.Equal(1, status);
        Assert.Contains("SYNODPT8", reason);
        Assert.Contains("began with SYNODPT3", reason);
        Assert.Contains("run the same Synod version on every replica", reason);
        Assert.True(await peer.ClosedByReplicaAsync(), "the replica should close the connection after its refusal");
        Assert.Contains("began with SYNODPT3", await LogOnceItHasAsync(cluster, 1, "another Synod build"));
    }

    [Fact]
    public async Task Garbage_and_an_oversized_message_from_a_peer_are_dropped_and_the_cluster_keeps_serving()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        // The test speaks as replica 2, so the real one must not reconnect and take its link back.
        cluster.Kill(2);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), among: [1, 3]);
        using var certificate = LoadCertificate(cluster, 2);
        await using var peer = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        Assert.Equal(0, (await peer.SayHelloAsync(from: 2, clusterSize: 3)).Status);

        // A well-framed message that is not a valid one: dropped with a log line, the connection stays.
        var garbage = new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f };
        var framed = new byte[4 + garbage.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(framed, (uint)garbage.Length);
        garbage.CopyTo(framed, 4);
        await peer.WriteAsync(framed);

        // A length past PeerMessageBytesMax (72 MiB): the replica closes the connection rather than wait for it.
        var oversized = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(oversized, uint.MaxValue);
        await peer.WriteAsync(oversized);
        Assert.True(await peer.ClosedByReplicaAsync(), "a message over PeerMessageBytesMax should close the connection");

        var log = await LogOnceItHasAsync(cluster, 1, "over the limit");
        Assert.Contains("dropped a malformed message from replica 2", log);
        Assert.Contains("over the limit", log);

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [cluster.Endpoints[1]] });
        await client.PutAsync("after-garbage", "still serving");
        Assert.Equal("still serving", (await client.GetAsync("after-garbage")).ValueAsString());
    }

    /// <summary>
    /// Messages far larger than what the receiver parses in place (64 KiB): Accepts of near-1 MiB values, and a
    /// restarted replica's catch-up of several of them. Every replica must end up with every byte.
    /// </summary>
    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task Large_values_reach_every_replica_intact_including_one_that_catches_up()
    {
        const int ValueBytes = 900 * 1024;
        const int Values = 3;
        await using var cluster = new ReplicaProcesses(3);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var lagging = cluster.Endpoints.Keys.First(id => id != leader);
        cluster.Kill(lagging);

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        var values = new List<byte[]>();
        for (var i = 0; i < Values; i++)
        {
            var value = new byte[ValueBytes];
            new Random(i).NextBytes(value);
            values.Add(value);
            await client.PutAsync(Encoding.UTF8.GetBytes($"big{i}"), value);
        }

        cluster.Start(lagging);
        var commit = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30))))!.CommitIndex;
        await cluster.WaitForAppliedAsync(cluster.Endpoints.Keys, commit, TimeSpan.FromSeconds(30));
        // A new client: the first one's channel to the restarted replica may still be waiting out its reconnect
        // backoff (up to 1 s) from the puts, and a pinned read does not fail over, so it would fail at once.
        await using var reader = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        for (var index = 0; index < cluster.EndpointList.Count; index++)
        {
            for (var i = 0; i < Values; i++)
            {
                var read = await reader.GetAsync(Encoding.UTF8.GetBytes($"big{i}"), stale: true, options: SynodCallOptions.Pinned(index));
                Assert.True(read.Value.Span.SequenceEqual(values[i]), $"replica at {cluster.EndpointList[index]} holds a different value for big{i}");
            }
        }
    }

    /// <summary>The replica's log, once it holds the text or the read limit passed (the console logger writes in the background).</summary>
    internal static async Task<string> LogOnceItHasAsync(ReplicaProcesses cluster, int id, string text)
    {
        await Eventually.WithinAsync(() => Task.FromResult(cluster.Log(id).Contains(text, StringComparison.Ordinal)), ReadLimit, TimeSpan.FromMilliseconds(50));
        return cluster.Log(id);
    }

    /// <summary>Replica <paramref name="id"/>'s certificate and key as the cluster's replicas were given them.</summary>
    internal static X509Certificate2 LoadCertificate(ReplicaProcesses cluster, int id) =>
        X509Certificate2.CreateFromPemFile(cluster.Certificates.Certificate(id), cluster.Certificates.Key(id));
}
