using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Synod.Protocol;

namespace Synod.Tests.Cluster;

/// <summary>
/// A replica that knows no live leader says so at once, instead of holding a request until its deadline; one that cannot
/// have a request confirmed says why just before the caller's deadline, instead of letting it pass unexplained.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class NoLeaderAnswerTests
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_write_and_a_linearizable_read_to_a_replica_cut_off_from_every_peer_are_answered_no_leader_well_before_the_deadline()
    {
        await using var cluster = new ReplicaProcesses(3);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var survivor = leader == 1 ? 2 : 1;
        foreach (var id in new[] { 1, 2, 3 }.Where(id => id != survivor))
        {
            cluster.Kill(id);
        }

        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoints[survivor]}");
        var kv = new Synod.Protocol.Kv.KvClient(channel);

        // Until an election timeout has passed the survivor still trusts the leader it heard: probe with short deadlines.
        for (var probe = 0; probe < 20; probe++)
        {
            try
            {
                await kv.GetAsync(new GetRequest { Key = ByteString.CopyFromUtf8("k") }, deadline: DateTime.UtcNow.AddSeconds(1.5)).ResponseAsync;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains("no leader", StringComparison.Ordinal))
            {
                break;
            }
            catch (RpcException)
            {
                // Still waiting for the leader it remembers.
            }
        }

        var write = Stopwatch.StartNew();
        var writeRefused = await Assert.ThrowsAsync<RpcException>(() => kv.PutAsync(
            new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v"), ClientId = 1, Sequence = 1 },
            deadline: DateTime.UtcNow + CallDeadline).ResponseAsync);
        write.Stop();
        var read = Stopwatch.StartNew();
        var readRefused = await Assert.ThrowsAsync<RpcException>(() => kv.GetAsync(
            new GetRequest { Key = ByteString.CopyFromUtf8("k") }, deadline: DateTime.UtcNow + CallDeadline).ResponseAsync);
        read.Stop();

        // Nor does its status name the leader it no longer hears.
        Assert.Equal(0u, (await cluster.StatusAsync(survivor))!.LeaderId);
        Assert.Equal(StatusCode.Unavailable, writeRefused.StatusCode);
        Assert.Contains("this attempt was not proposed", writeRefused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unavailable, readRefused.StatusCode);
        Assert.Contains("no leader", readRefused.Status.Detail, StringComparison.Ordinal);

        // Not a speed threshold: "at once" against "at the deadline", with the deadline 20 s away.
        Assert.True(write.Elapsed < CallDeadline / 2, $"the write was answered after {write.Elapsed.TotalSeconds:F1} s of a {CallDeadline.TotalSeconds} s deadline");
        Assert.True(read.Elapsed < CallDeadline / 2, $"the read was answered after {read.Elapsed.TotalSeconds:F1} s of a {CallDeadline.TotalSeconds} s deadline");
    }

    [Fact]
    public async Task A_write_no_quorum_confirms_is_answered_with_the_reason_before_the_callers_deadline()
    {
        await using var cluster = new ReplicaProcesses(3);
        RpcException? refused = null;
        var leader = 0;
        for (var attempt = 0; attempt < 5 && refused is null; attempt++)
        {
            // A leader that has just taken a registration leads with a quorum (a fresh cluster may still hand over).
            leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoints[leader]}");
            var kv = new Synod.Protocol.Kv.KvClient(channel);
            if (!await RegistersAsync(kv))
            {
                continue;
            }

            var paused = new[] { 1, 2, 3 }.Where(id => id != leader).Select(cluster.ProcessId).ToList();
            Signal("-STOP", paused);
            try
            {
                // Its followers paused, the leader proposes the registration, and no quorum accepts it.
                var answer = await Assert.ThrowsAsync<RpcException>(() => kv.RegisterAsync(
                    new RegisterRequest { Nonce = 7 }, deadline: DateTime.UtcNow.AddSeconds(3)).ResponseAsync);
                if (!answer.Status.Detail.Contains("was not proposed", StringComparison.Ordinal))
                {
                    refused = answer;
                }
            }
            finally
            {
                Signal("-CONT", paused);
            }
        }

        // Unavailable with the reason, not DeadlineExceeded: the server answered before the caller gave up.
        Assert.NotNull(refused);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("the registration was not confirmed within the deadline", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"replica {leader} reaches 1 of 3 replicas", refused.Status.Detail, StringComparison.Ordinal);

        // Its followers back, the cluster takes a registration again (after an election, if the leader stepped down).
        var registered = false;
        for (var attempt = 0; attempt < 30 && !registered; attempt++)
        {
            var now = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            using var again = GrpcChannel.ForAddress($"http://{cluster.Endpoints[now]}");
            registered = await RegistersAsync(new Synod.Protocol.Kv.KvClient(again));
        }

        Assert.True(registered, cluster.AllLogs());
    }

    private static async Task<bool> RegistersAsync(Synod.Protocol.Kv.KvClient kv)
    {
        try
        {
            var answer = await kv.RegisterAsync(new RegisterRequest { Nonce = 8 }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync;
            return answer.ClientId != 0;
        }
        catch (RpcException)
        {
            await Task.Delay(200);
            return false;
        }
    }

    private static void Signal(string signal, IEnumerable<int> processIds)
    {
        using var kill = Process.Start("kill", [signal, .. processIds.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
