using System.Globalization;
using System.Text;
using Google.Protobuf;
using Synod.Client;
using Synod.Kv;
using Synod.Protocol.Peer;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Issue 12's forged messages, sent over an authenticated link in a member's name (the most an attacker who stole one
/// replica's key, or a broken replica, could do): an Accept at the leader's own ballot claiming the next slot chosen, an
/// Accept at a non-member's huge ballot, an Accept for slot 2^62 and a Heartbeat naming commit index 2^62. Each broke the
/// cluster before (divergence, a cluster-wide overwrite, a wedged owner loop, a lag of 4.6·10^18). Now each is dropped
/// and counted (docs/protocol.md, peer message rules), and afterwards every replica holds the same state and serves.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class ForgedPeerMessageTests(ITestOutputHelper output)
{
    private const int Replicas = 5;
    private const long Huge = 1L << 62;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Forged_messages_from_an_authenticated_member_are_dropped_and_every_replica_keeps_the_same_state()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        var leader = await cluster.WaitForLeaderAsync(Limit);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        for (var i = 0; i < 5; i++)
        {
            await client.PutAsync($"k{i}", $"v{i}");
        }

        var follower = cluster.Endpoints.Keys.First(id => id != leader);
        var impostor = cluster.Endpoints.Keys.First(id => id != leader && id != follower);
        var status = (await cluster.StatusAsync(follower))!;
        var ballot = ParseBallot((await cluster.StatusAsync(leader))!.Ballot);
        var next = (long)status.CommitIndex + 1;
        output.WriteLine($"leader {leader} at {ballot.Round}.{ballot.Replica}; forging in replica {impostor}'s name to replica {follower}, next slot {next}");

        // The impostor holds replica `impostor`'s own certificate: it is authenticated, but lies.
        await using (var link = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[follower], PeerWireTests.LoadCertificate(cluster, impostor)))
        {
            var (answer, reason) = await link.SayHelloAsync(impostor, Replicas);
            Assert.True(answer == 0, reason);
            var forged = new[]
            {
                Accept(follower, ballot, next, next, Command("forged", "by-another-member")),
                Accept(follower, new BallotPb { Round = 1_000_000, Replica = 99 }, next, next, Command("forged", "by-a-non-member")),
                Accept(follower, new BallotPb { Round = ballot.Round, Replica = (uint)impostor }, Huge, Huge, Command("forged", "far-ahead")),
                new PeerMessage { To = (uint)follower, Heartbeat = new HeartbeatPb { Ballot = new BallotPb(), CommitIndex = Huge } },
            };
            await link.WriteAsync([.. forged.SelectMany(PeerDialer.Frame)]);
            await WaitUntilAsync(async () => (await cluster.StatusAsync(follower))?.PeerMessagesRefused >= (ulong)forged.Length);
        }

        // One line per interval names the first (the rest are counted in it at the next line).
        var log = await PeerWireTests.LogOnceItHasAsync(cluster, follower, "no correct replica could send");
        Assert.Contains("V3: the ballot", log);

        // The cluster goes on: new writes, then every replica applied the same slots and holds the same values.
        for (var i = 0; i < 5; i++)
        {
            await client.PutAsync($"after{i}", $"w{i}");
        }

        var last = (await client.PutAsync("last", "write")).Slot;
        await cluster.WaitForAppliedAsync(cluster.Endpoints.Keys, last, Limit);
        var keys = Enumerable.Range(0, 5).Select(i => $"k{i}").Concat(Enumerable.Range(0, 5).Select(i => $"after{i}")).Append("last").Append("forged").ToList();
        var states = new Dictionary<int, string>();
        foreach (var (id, index) in cluster.Endpoints.Keys.Order().Select((id, index) => (id, index)))
        {
            states[id] = await StateAsync(client, index, keys);
            var replica = (await cluster.StatusAsync(id))!;
            Assert.True(replica.HighestKnownCommit - replica.AppliedSlot < 1000, $"replica {id} reports a lag of {replica.HighestKnownCommit - replica.AppliedSlot} slots");
        }

        Assert.Single(states.Values.Distinct());
        Assert.Contains("forged=<none>", states[follower]);
        Assert.Contains("last=write", states[follower]);
        Assert.Equal("<none>", await ReadOrNoneAsync(client, "forged"));
    }

    private static PeerMessage Accept(int to, BallotPb ballot, long slot, long commitIndex, byte[] command)
    {
        var accept = new AcceptPb { Ballot = ballot, Slot = slot, CommitIndex = commitIndex, Batch = new BatchPb() };
        accept.Batch.Commands.Add(ByteString.CopyFrom(command));
        return new PeerMessage { To = (uint)to, Accept = accept };
    }

    private static byte[] Command(string key, string value) =>
        new KvCommand(424242, 1, KvOperation.Put, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value)).Encode();

    private static BallotPb ParseBallot(string text)
    {
        var parts = text.Split('.');
        return new BallotPb { Round = long.Parse(parts[0], CultureInfo.InvariantCulture), Replica = uint.Parse(parts[1], CultureInfo.InvariantCulture) };
    }

    /// <summary>Every key as this replica has applied it (a stale read, answered by that replica alone).</summary>
    private static async Task<string> StateAsync(SynodClient client, int index, IEnumerable<string> keys)
    {
        var lines = new List<string>();
        foreach (var key in keys)
        {
            try
            {
                var read = await client.GetAsync(Encoding.UTF8.GetBytes(key), stale: true, options: SynodCallOptions.Pinned(index));
                lines.Add($"{key}={Encoding.UTF8.GetString(read.Value.Span)}");
            }
            catch (SynodNotFoundException)
            {
                lines.Add($"{key}=<none>");
            }
        }

        return string.Join(",", lines);
    }

    private static async Task<string> ReadOrNoneAsync(SynodClient client, string key)
    {
        try
        {
            return (await client.GetAsync(key)).ValueAsString();
        }
        catch (SynodNotFoundException)
        {
            return "<none>";
        }
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition) =>
        Eventually.TrueAsync(condition, Limit, () => "the follower did not count the forged messages as refused", TimeSpan.FromMilliseconds(100));
}
