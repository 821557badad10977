using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// A real 5-replica cluster: separate `synod serve` processes on loopback ports, real sockets, real files with
/// fsync, and SIGKILL for crashes. Each test starts its own cluster and kills every process it started.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class RealClusterTests
{
    private const int Replicas = 5;
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    private static SynodClient NewClient(ReplicaProcesses cluster, double operationSeconds = 15) => new(new SynodClientOptions
    {
        Endpoints = cluster.EndpointList,
        OperationTimeout = TimeSpan.FromSeconds(operationSeconds),
    });

    [Fact]
    public async Task A_put_through_replica_1_is_read_through_replica_4_and_a_delete_through_replica_2_removes_it()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        await cluster.WaitForLeaderAsync(StartupLimit);
        await using var client = NewClient(cluster);

        await client.PutAsync("greeting", "hello", SynodCallOptions.Pinned(0));
        Assert.Equal("hello", (await client.GetAsync("greeting", options: SynodCallOptions.Pinned(3))).ValueAsString());

        var deleted = await client.DeleteAsync("greeting", SynodCallOptions.Pinned(1));
        Assert.True(deleted.Existed);
        await Assert.ThrowsAsync<SynodNotFoundException>(() => client.GetAsync("greeting", options: SynodCallOptions.Pinned(3)));
    }

    [Fact]
    public async Task A_thousand_concurrent_operations_through_different_replicas_are_all_answered_and_every_replica_ends_equal()
    {
        const int Clients = 8;
        const int OperationsPerClient = 125;
        const int Keys = 40;
        await using var cluster = new ReplicaProcesses(Replicas);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var answered = 0;
        var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            await using var client = NewClient(cluster);
            for (var i = 0; i < OperationsPerClient; i++)
            {
                var replica = SynodCallOptions.Pinned((c + i) % Replicas);
                var key = $"k{(c * 7 + i) % Keys}";
                switch (i % 5)
                {
                    case 4:
                        await client.DeleteAsync(key, replica);
                        break;
                    case 3:
                        try
                        {
                            await client.GetAsync(key, options: replica);
                        }
                        catch (SynodNotFoundException)
                        {
                            // Absent is an answer too.
                        }

                        break;
                    default:
                        await client.PutAsync(key, $"c{c}-{i}", replica);
                        break;
                }

                Interlocked.Increment(ref answered);
            }
        })).ToList();
        await Task.WhenAll(workers);
        Assert.Equal(Clients * OperationsPerClient, answered);

        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        var commit = (await cluster.StatusAsync(leader))!.CommitIndex;
        await cluster.WaitForAppliedAsync(cluster.Endpoints.Keys, commit, TimeSpan.FromSeconds(20));
        await using var reader = NewClient(cluster);
        for (var k = 0; k < Keys; k++)
        {
            var values = new List<string?>();
            for (var r = 0; r < Replicas; r++)
            {
                values.Add(await StaleValueAsync(reader, $"k{k}", r));
            }

            Assert.True(values.Distinct().Count() == 1, $"key k{k} differs across replicas: {string.Join(", ", values.Select(v => v ?? "(absent)"))}");
        }
    }

    [Fact]
    public async Task After_the_leader_is_killed_writes_resume_and_the_largest_live_id_leads()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        await using var client = NewClient(cluster);
        await client.PutAsync("before", "1");

        cluster.Kill(leader);
        await client.PutAsync("after", "2");

        // The largest live id leads, at once or (when another won the election) once the preferred-leader rule hands it over.
        var live = cluster.Endpoints.Keys.Where(id => id != leader).ToList();
        await cluster.WaitForLeaderAsync(StartupLimit, live);
        Assert.True(await Eventually.WithinAsync(async () => (await cluster.StatusAsync(live.Max()))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100)),
            $"the largest live id {live.Max()} does not lead.\n{cluster.AllLogs()}");
        Assert.Equal("1", (await client.GetAsync("before")).ValueAsString());
        Assert.Equal("2", (await client.GetAsync("after")).ValueAsString());
    }

    [Fact]
    public async Task The_largest_id_leads_and_once_back_from_a_kill_is_handed_the_leadership_again_with_no_failed_write()
    {
        var endpoints = ReplicaProcesses.NewEndpoints(Replicas);
        var http = ReplicaProcesses.NewEndpoints(Replicas);
        var peers = string.Join(",", endpoints.Select(e => $"{e.Key}={e.Value}"));
        await using var cluster = new ReplicaProcesses(endpoints, id => ["--peers", peers, "--http", http[id]], "--preferred-leader-window", "1s");
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(Replicas))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100));
        cluster.Kill(Replicas);
        // The largest live id leads, at once or (when another won the election: replica 5 may be killed before replica 4
        // has heard anyone) once the rule hands it over.
        var live = cluster.Endpoints.Keys.Where(id => id != Replicas).ToList();
        var second = live.Max();
        Assert.True(await Eventually.WithinAsync(async () => (await cluster.StatusAsync(second))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100)),
            $"the largest live id {second} does not lead.\n{cluster.AllLogs()}");

        // Writes go on while the largest id comes back, catches up and is handed the leadership: none may fail.
        await using var client = NewClient(cluster);
        var failures = new List<string>();
        var written = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await client.PutAsync($"preferred-{i % 64}", $"{i}");
                    written++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Add(e.Message);
                }
            }
        });
        cluster.Start(Replicas);
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(Replicas))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100));
        await Task.Delay(500);
        await stop.CancelAsync();
        await writer;

        Assert.True(failures.Count == 0, $"{failures.Count} of {written + failures.Count} writes failed: {string.Join("; ", failures.Take(3))}\n{cluster.AllLogs()}");
        Assert.True(written > 0, "no write was made while the largest id came back");
        var former = await cluster.StatusAsync(second);
        Assert.Equal(("follower", (uint)Replicas), (former!.Role, former.LeaderId));

        // Handed over, not taken by an election: the former leader started a handover, and gave none up.
        using var web = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrape = await web.GetStringAsync(new Uri($"http://{http[second]}/metrics"));
        Assert.True(PrometheusText.Sum(scrape, "synod_preferred_handovers_total") >= 1 && PrometheusText.Sum(scrape, "synod_handovers_given_up_total") == 0 &&
            PrometheusText.Sum(scrape, "synod_preferred_handovers_failed_total") == 0,
            $"replica {second} did not hand its leadership over:\n{scrape}");
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_largest_id_killed_and_restarted_every_two_seconds_never_leads_and_the_cluster_keeps_serving()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(Replicas))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100));
        await using var client = NewClient(cluster);
        var (written, ledAfterFirstKill) = (0, 0);
        var flapUntil = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var round = 0; round < 20 && DateTime.UtcNow < flapUntil; round++)
        {
            cluster.Kill(Replicas);
            await client.PutAsync($"flap-{round}", "down");
            written++;
            cluster.Start(Replicas);
            var upUntil = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            while (DateTime.UtcNow < upUntil)
            {
                await client.PutAsync($"flap-{round}", "up");
                written++;
                ledAfterFirstKill += (await cluster.StatusAsync(Replicas))?.Role == "leader" ? 1 : 0;
                await Task.Delay(100);
            }
        }

        // Up for about a second of each two (the rest is the process starting), it is never ready for the 3-s window.
        Assert.True(ledAfterFirstKill == 0, $"replica {Replicas} led in {ledAfterFirstKill} polls while it kept restarting.\n{cluster.AllLogs()}");
        Assert.True(written > 20, $"only {written} writes were made while replica {Replicas} flapped");
    }

    [Fact]
    public async Task With_two_replicas_killed_the_other_three_still_serve_reads_and_writes()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        var victims = new[] { leader, cluster.Endpoints.Keys.First(id => id != leader) };
        foreach (var victim in victims)
        {
            cluster.Kill(victim);
        }

        await using var client = NewClient(cluster);
        await client.PutAsync("survivor", "yes");
        foreach (var r in cluster.Endpoints.Keys.Where(id => !victims.Contains(id)))
        {
            Assert.Equal("yes", (await client.GetAsync("survivor", options: SynodCallOptions.Pinned(r - 1))).ValueAsString());
        }
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task With_three_replicas_killed_a_write_fails_with_no_quorum_instead_of_hanging_and_succeeds_once_one_returns()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        await cluster.WaitForLeaderAsync(StartupLimit);
        await using var warm = NewClient(cluster);
        await warm.PutAsync("k", "before");

        foreach (var victim in new[] { 5, 4, 3 })
        {
            cluster.Kill(victim);
        }

        // A client with a session sends the write: its outcome is unknown.
        var pinned = new SynodCallOptions { PinnedEndpointIndex = 0, OperationTimeout = TimeSpan.FromSeconds(6) };
        var failure = await Assert.ThrowsAnyAsync<SynodUnavailableException>(() => warm.PutAsync("k", "during", pinned));
        Assert.Contains("no quorum", failure.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(failure.OutcomeUnknown);

        // A new client must first register an id, which fails the same way: its write was never sent.
        await using (var client = NewClient(cluster, operationSeconds: 6))
        {
            var unsent = await Assert.ThrowsAnyAsync<SynodUnavailableException>(() => client.PutAsync("k", "never", SynodCallOptions.Pinned(0)));
            Assert.Contains("registration", unsent.Message, StringComparison.OrdinalIgnoreCase);
            Assert.False(unsent.OutcomeUnknown);
        }

        cluster.Start(3);
        await using var recovered = NewClient(cluster, operationSeconds: 30);
        await recovered.PutAsync("k2", "after");
        Assert.Equal("after", (await recovered.GetAsync("k2")).ValueAsString());

        // The failed write's outcome was unknown: it may take effect, now or later, or never; nothing else may appear.
        Assert.Contains((await recovered.GetAsync("k")).ValueAsString(), new[] { "before", "during" });
    }

    [Fact]
    public async Task A_restarted_replica_catches_up_on_the_writes_it_missed()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        var lagging = cluster.Endpoints.Keys.First(id => id != leader);
        cluster.Kill(lagging);
        await using var client = NewClient(cluster);
        for (var i = 0; i < 30; i++)
        {
            await client.PutAsync($"missed{i}", $"v{i}");
        }

        cluster.Start(lagging);
        var commit = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(StartupLimit)))!.CommitIndex;
        await cluster.WaitForAppliedAsync([lagging], commit, TimeSpan.FromSeconds(30));
        // A new client: the first one's channel to the restarted replica may still be waiting out its reconnect
        // backoff (up to 1 s) from the puts, and a pinned read does not fail over, so it would fail at once.
        await using var reader = NewClient(cluster);
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal($"v{i}", await StaleValueAsync(reader, $"missed{i}", lagging - 1));
        }
    }

    private static async Task<string?> StaleValueAsync(SynodClient client, string key, int replicaIndex)
    {
        try
        {
            return (await client.GetAsync(key, stale: true, options: SynodCallOptions.Pinned(replicaIndex))).ValueAsString();
        }
        catch (SynodNotFoundException)
        {
            return null;
        }
    }
}
