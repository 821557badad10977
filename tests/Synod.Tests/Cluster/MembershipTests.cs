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

    /// <summary>
    /// Replica 1 is stopped, removed while it is down, and started again from its old data, which says it is a voter:
    /// it must learn that it was removed and stop on its own, without deposing the leader or failing a client write.
    /// </summary>
    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_removed_replica_that_comes_back_with_its_old_data_learns_it_was_removed_and_stops_without_harm()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        await client.PutAsync("before", "1");

        // Stop a follower (1, or 2 if 1 leads), then remove it while it is down.
        var leader = await cluster.WaitForLeaderAsync(Patience);
        var gone = leader == 1 ? 2 : 1;
        cluster.Kill(gone);
        await client.ChangeMemberAsync(SynodMemberChange.Remove, gone);
        await WaitAsync(client, m => !m.Pending);
        var ballot = (await cluster.StatusAsync(leader))!.Ballot;

        using var stop = new CancellationTokenSource();
        var acknowledged = new List<string>();
        var writing = Write(cluster, "z", acknowledged, stop.Token);
        cluster.Start(gone);
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(cluster.Exited(gone)), TimeSpan.FromSeconds(40)),
            $"replica {gone}, removed while down, kept running after it came back.\n{cluster.Log(gone)}");
        Assert.Contains("was removed from the cluster", cluster.Log(gone), StringComparison.Ordinal);

        await stop.CancelAsync();
        var failed = await writing;
        Assert.Equal(0, failed);
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} writes were acknowledged");

        // The leader led on at the same ballot: the returning replica deposed no one.
        var status = await cluster.StatusAsync(leader);
        Assert.Equal(ballot, status!.Ballot);
        Assert.Equal((uint)leader, status.LeaderId);
        var members = await client.MembersAsync();
        Assert.DoesNotContain(members.Members, m => m.Id == gone);
    }

    /// <summary>
    /// Until the rebuild rules follow configurations (docs/protocol.md, "Membership", what is left out), a replica that
    /// lost its disk may not rebuild once the membership has changed: `serve --rebuild-from-peers` refuses, saying to
    /// replace it, and the cluster goes on.
    /// </summary>
    [Fact]
    public async Task After_a_membership_change_a_replica_that_lost_its_disk_is_refused_a_rebuild_and_told_to_be_replaced()
    {
        await using var cluster = new ReplicaProcesses(3);
        var leader = await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        await client.ChangeMemberAsync(SynodMemberChange.AddLearner, 4, "127.0.0.1:1");

        var lost = leader == 1 ? 2 : 1;
        cluster.Kill(lost);
        Directory.Delete(cluster.DataDir(lost), recursive: true);
        cluster.Start(lost, "--rebuild-from-peers");
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(cluster.Exited(lost)), TimeSpan.FromSeconds(40)), cluster.Log(lost));
        // Its stderr reaches the log a moment after the process ends.
        Assert.True(await Eventually.WithinAsync(
            () => Task.FromResult(cluster.Log(lost).Contains("not yet safe after a membership change", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)), cluster.Log(lost));
        Assert.Contains($"synod member remove {lost}", cluster.Log(lost), StringComparison.Ordinal);

        await client.PutAsync("still", "serving");
        Assert.Equal("serving", System.Text.Encoding.UTF8.GetString((await client.GetAsync("still")).Value.Span));
    }

    /// <summary>
    /// A replica that joined restarts with `serve --join`, which asks the others for the configuration: with every
    /// other replica down too (a whole cluster restarted, or one of replicas that all joined), it starts from its own
    /// state and the join record it kept, and catches up once the others are back.
    /// </summary>
    [Fact]
    public async Task A_replica_that_joined_starts_again_when_no_other_replica_answers()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        var endpoint = ReplicaProcesses.NewEndpoints(1)[1];
        await client.ChangeMemberAsync(SynodMemberChange.AddLearner, 4, endpoint);
        cluster.Join(4, endpoint);
        await WaitAsync(client, m => !m.Pending && m.Members.Single(x => x.Id == 4) is { Applied: > 0, Lag: < 50 });
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(File.Exists(Path.Combine(cluster.DataDir(4), "join.json"))), Patience));

        foreach (var id in new[] { 1, 2, 3, 4 })
        {
            cluster.Kill(id);
        }

        cluster.Start(4);
        Assert.True(await Eventually.WithinAsync(async () => await cluster.StatusAsync(4) is not null, TimeSpan.FromSeconds(60)), cluster.Log(4));
        Assert.Contains("starts from its own state", cluster.Log(4), StringComparison.Ordinal);

        foreach (var id in new[] { 1, 2, 3 })
        {
            cluster.Start(id);
        }

        await cluster.WaitForLeaderAsync(Patience, [1, 2, 3]);
        await client.PutAsync("after", "restart");
        var slot = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(Patience, [1, 2, 3])))!.CommitIndex;
        await cluster.WaitForAppliedAsync([4], slot, Patience);
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
