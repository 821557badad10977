using System.Text.Json;
using Synod.Cli;
using Synod.Client;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Membership as an operator meets it, on real replica processes (docs/api.md, "Membership"): a fourth replica
/// joins as a learner, catches up and is promoted, and the leader is removed, under a client writing all along; every
/// acknowledged write is on the new replica, and the removed one says why and stops. Changes that cannot be made are
/// refused with their reason and exit code 2.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class MembershipTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The writer's bound: it stops at this many writes if the test has not stopped it before.</summary>
    private const int WritesMax = 5_000;

    [Fact]
    public async Task A_replica_joins_is_promoted_and_the_leader_is_removed_under_load_with_every_acknowledged_write_kept()
    {
        await using var cluster = new ReplicaProcesses(3);
        var firstLeader = await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });

        using var stop = new CancellationTokenSource();
        var acknowledged = new List<string>();
        var writing = Write(cluster, "k", acknowledged, stop.Token);

        // Add 4 as a learner; it is no voter, so nothing changes for the quorum.
        var endpoint = ReplicaProcesses.NewEndpoints(1)[1];
        var added = await client.ChangeMemberAsync(SynodMemberChange.AddLearner, 4, endpoint);
        Assert.Contains(added.Members, m => m is { Id: 4, Voter: false } && m.Endpoint == endpoint);

        // A second change while the first is pending, or an id used before, is refused with the reason.
        var again = await Cli("member", "add", $"2=127.0.0.1:1", "--endpoints", string.Join(",", cluster.EndpointList));
        Assert.Equal(ExitCodes.InvalidInput, again.Exit);
        Assert.Contains("already a voter", again.Error, StringComparison.Ordinal);

        cluster.Join(4, endpoint);
        var caughtUp = await WaitAsync(client, m => !m.Pending && m.Members.Single(x => x.Id == 4) is { Applied: > 0, Lag: < 50 });
        output.WriteLine($"learner 4 caught up: applied {caughtUp.Members.Single(x => x.Id == 4).Applied}");
        var promoted = await client.ChangeMemberAsync(SynodMemberChange.Promote, 4);
        Assert.True(promoted.Members.Single(m => m.Id == 4).Voter);
        await WaitAsync(client, m => !m.Pending);

        // Remove the leader: it hands leadership to a caught-up voter, the new leader removes it, and it stops.
        // With the client's default timeouts, from a client that knows only the first three replicas: the leadership
        // usually goes to 4, which it must find through the configuration.
        var leader = await cluster.WaitForLeaderAsync(Patience);
        await using var firstThree = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        var removing = System.Diagnostics.Stopwatch.StartNew();
        var removed = await firstThree.ChangeMemberAsync(SynodMemberChange.Remove, leader);
        output.WriteLine($"removing leader {leader} took {removing.ElapsedMilliseconds} ms");
        Assert.DoesNotContain(removed.Members, m => m.Id == leader);
        var remaining = new[] { 1, 2, 3, 4 }.Where(id => id != leader).ToArray();
        await WaitAsync(client, m => !m.Pending);
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(cluster.Exited(leader)), TimeSpan.FromSeconds(40)),
            $"removed replica {leader} did not stop.\n{cluster.Log(leader)}");
        Assert.Contains("was removed from the cluster", cluster.Log(leader), StringComparison.Ordinal);

        // It handed its leadership over first, rather than leaving the others to notice its silence.
        Assert.Contains("handing leadership to replica", cluster.Log(leader), StringComparison.Ordinal);
        Assert.DoesNotContain("handover given up", cluster.Log(leader), StringComparison.Ordinal);

        await Task.Delay(500);
        await stop.CancelAsync();
        var failed = await writing;
        output.WriteLine($"first leader {firstLeader}, removed {leader}; {acknowledged.Count} writes acknowledged, {failed} failed");
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} writes were acknowledged");

        // Every acknowledged write is in the cluster that is left, and replica 4 holds it too.
        var newLeader = await cluster.WaitForLeaderAsync(Patience, remaining);
        Assert.Contains(newLeader, remaining);
        await using var survivors = new SynodClient(new SynodClientOptions { Endpoints = [.. remaining.Select(id => cluster.Endpoints[id])] });
        var listed = await survivors.MembersAsync();
        Assert.Equal(remaining.Order(), listed.Members.Where(m => m.Voter).Select(m => m.Id).Order());
        foreach (var key in acknowledged)
        {
            var value = await survivors.GetAsync(key);
            Assert.Equal("v" + key[1..], System.Text.Encoding.UTF8.GetString(value.Value.Span));
        }

        Synod.Protocol.StatusResponse? status = null;
        Assert.True(await Eventually.WithinAsync(async () => (status = await cluster.StatusAsync(4)) is not null, Patience), cluster.Log(4));
        Assert.Equal(3u, status!.Replicas);

        // The CLI's list, as a script reads it.
        var json = await Cli("member", "list", "--json", "--endpoints", string.Join(",", remaining.Select(id => cluster.Endpoints[id])));
        Assert.Equal(ExitCodes.Ok, json.Exit);
        var members = JsonDocument.Parse(json.Output).RootElement.EnumerateArray().ToList();
        Assert.Equal(3, members.Count);
        Assert.All(members, m => Assert.Equal("voter", m.GetProperty("role").GetString()));
        Assert.Contains(members, m => m.GetProperty("id").GetInt32() == 4 && m.GetProperty("endpoint").GetString() == endpoint);
    }

    [Fact]
    public async Task The_cluster_grows_from_three_voters_to_five_and_shrinks_back_under_load_keeping_every_acknowledged_write()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        using var stop = new CancellationTokenSource();
        var acknowledged = new List<string>();
        var writing = Write(cluster, "g", acknowledged, stop.Token);

        // 3 -> 5: each new replica joins, catches up and is promoted, one change at a time.
        foreach (var id in new[] { 4, 5 })
        {
            var endpoint = ReplicaProcesses.NewEndpoints(1)[1];
            await client.ChangeMemberAsync(SynodMemberChange.AddLearner, id, endpoint);
            cluster.Join(id, endpoint);
            await WaitAsync(client, m => !m.Pending && m.Members.Single(x => x.Id == id) is { Applied: > 0, Lag: < 50 });
            await client.ChangeMemberAsync(SynodMemberChange.Promote, id);
            await WaitAsync(client, m => !m.Pending);
        }

        var five = await client.MembersAsync();
        Assert.Equal([1, 2, 3, 4, 5], five.Members.Where(m => m.Voter).Select(m => m.Id).Order());

        // 5 -> 3: the two new ones leave again, and stop.
        foreach (var id in new[] { 5, 4 })
        {
            await client.ChangeMemberAsync(SynodMemberChange.Remove, id);
            await WaitAsync(client, m => !m.Pending);
        }

        if (!await Eventually.WithinAsync(() => Task.FromResult(cluster.Exited(4) && cluster.Exited(5)), TimeSpan.FromSeconds(40)))
        {
            var s4 = await cluster.StatusAsync(4);
            var s5 = await cluster.StatusAsync(5);
            var s1 = await cluster.StatusAsync(1);
            Assert.Fail($"the removed replicas did not stop: 4 commit {s4?.CommitIndex} role {s4?.Role} leader {s4?.LeaderId}; 5 commit {s5?.CommitIndex} role {s5?.Role}; 1 commit {s1?.CommitIndex} role {s1?.Role}; members {string.Join(",", (await client.MembersAsync()).Members)}");
        }
        await stop.CancelAsync();
        await writing;
        output.WriteLine($"{acknowledged.Count} writes acknowledged while the cluster grew to five voters and shrank back to three");
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} writes were acknowledged");

        var three = await client.MembersAsync();
        Assert.Equal([1, 2, 3], three.Members.Select(m => m.Id).Order());
        Assert.Equal(6, three.Revision);
        foreach (var key in acknowledged)
        {
            var value = await client.GetAsync(key);
            Assert.Equal("v" + key[1..], System.Text.Encoding.UTF8.GetString(value.Value.Span));
        }

        // Their ids are never used again.
        var reused = await Cli("member", "add", "4=127.0.0.1:1", "--endpoints", string.Join(",", cluster.EndpointList.Take(3)));
        Assert.Equal(ExitCodes.InvalidInput, reused.Exit);
        Assert.Contains("was used before", reused.Error, StringComparison.Ordinal);
    }

    /// <summary>Puts PREFIX{i} = v{i} one after another until stopped (at most WritesMax), noting each acknowledged key; returns the failures.</summary>
    private static Task<int> Write(ReplicaProcesses cluster, string prefix, List<string> acknowledged, CancellationToken stop) => Task.Run(async () =>
    {
        var failed = 0;
        await using var writer = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(10) });
        for (var i = 0; i < WritesMax && !stop.IsCancellationRequested; i++)
        {
            try
            {
                await writer.PutAsync($"{prefix}{i}", $"v{i}");
                lock (acknowledged)
                {
                    acknowledged.Add($"{prefix}{i}");
                }
            }
            catch (SynodException)
            {
                failed++;
            }
        }

        return failed;
    });

    private static async Task<SynodMembers> WaitAsync(SynodClient client, Func<SynodMembers, bool> done)
    {
        SynodMembers? last = null;
        var ok = await Eventually.WithinAsync(async () =>
        {
            try
            {
                last = await client.MembersAsync();
                return done(last);
            }
            catch (SynodException)
            {
                return false;
            }
        }, Patience, TimeSpan.FromMilliseconds(100));
        Assert.True(ok, $"the membership did not get there: {(last is null ? "no answer" : string.Join("; ", last.Members))}, pending={last?.Pending}");
        return last!;
    }

    private static Task<(int Exit, string Output, string Error)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);
}
