using System.Buffers.Binary;
using System.Net.Sockets;
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

        using var socket = await SayHelloAsync(cluster.Endpoints[1], from: 2, clusterSize: 5);
        await using var stream = new NetworkStream(socket);
        using var deadline = new CancellationTokenSource(ReadLimit);
        var status = new byte[3];
        await stream.ReadExactlyAsync(status, deadline.Token);
        Assert.Equal(1, status[0]);
        var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(status.AsSpan(1))];
        await stream.ReadExactlyAsync(reason, deadline.Token);
        var text = Encoding.UTF8.GetString(reason);
        Assert.Contains("5-replica cluster", text);
        Assert.Contains("Check --peers", text);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], deadline.Token));
        Assert.Contains("Check --peers", await LogOnceItHasAsync(cluster, 1, "Check --peers"));
    }

    [Fact]
    public async Task Garbage_and_an_oversized_message_from_a_peer_are_dropped_and_the_cluster_keeps_serving()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        using var socket = await SayHelloAsync(cluster.Endpoints[1], from: 2, clusterSize: 3);
        await using var stream = new NetworkStream(socket);
        using var deadline = new CancellationTokenSource(ReadLimit);
        var status = new byte[1];
        await stream.ReadExactlyAsync(status, deadline.Token);
        Assert.Equal(0, status[0]);

        // A well-framed message that is not a valid one: dropped with a log line, the connection stays.
        var garbage = new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f };
        var framed = new byte[4 + garbage.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(framed, (uint)garbage.Length);
        garbage.CopyTo(framed, 4);
        await socket.SendAsync(framed, SocketFlags.None);

        // A length past the 256 MiB limit: the replica closes the connection rather than wait for it.
        var oversized = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(oversized, uint.MaxValue);
        await socket.SendAsync(oversized, SocketFlags.None);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], deadline.Token));

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
    [Fact]
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
        for (var index = 0; index < cluster.EndpointList.Count; index++)
        {
            for (var i = 0; i < Values; i++)
            {
                var read = await client.GetAsync(Encoding.UTF8.GetBytes($"big{i}"), stale: true, options: SynodCallOptions.Pinned(index));
                Assert.True(read.Value.Span.SequenceEqual(values[i]), $"replica at {cluster.EndpointList[index]} holds a different value for big{i}");
            }
        }
    }

    /// <summary>The replica's log, once it holds the text or the read limit passed (the console logger writes in the background).</summary>
    private static async Task<string> LogOnceItHasAsync(ReplicaProcesses cluster, int id, string text)
    {
        var started = DateTime.UtcNow;
        while (!cluster.Log(id).Contains(text, StringComparison.Ordinal) && DateTime.UtcNow - started < ReadLimit)
        {
            await Task.Delay(50);
        }

        return cluster.Log(id);
    }

    /// <summary>Connects to a replica as peer <paramref name="from"/> would and sends the hello, written out byte by byte.</summary>
    private static async Task<Socket> SayHelloAsync(string endpoint, int from, int clusterSize)
    {
        var colon = endpoint.LastIndexOf(':');
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var hello = new byte[16];
        "SYNODPR1"u8.CopyTo(hello);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(8), (uint)from);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(12), (uint)clusterSize);
        await socket.SendAsync(hello, SocketFlags.None);
        return socket;
    }
}
