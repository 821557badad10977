using System.Globalization;
using Synod.Client;
using Synod.Tests.Cluster;

namespace Synod.Tests.Operations;

/// <summary>
/// Issue 19, metrics: every replica started with `serve --http` answers /metrics in the Prometheus text format with
/// Synod's instruments, and what a user would watch moves as the cluster works (requests, slots, fsyncs, keys).
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class MetricsTests
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    /// <summary>What a dashboard or an alert of docs/operations.md reads, with its Prometheus type.</summary>
    private static readonly (string Name, string Type)[] Required =
    [
        ("synod_client_requests_total", "counter"),
        ("synod_client_request_duration_seconds", "histogram"),
        ("synod_slots_applied_total", "counter"),
        ("synod_slot_commands", "histogram"),
        ("synod_wal_fsync_duration_seconds", "histogram"),
        ("synod_loop_pass_duration_seconds", "histogram"),
        ("synod_role_changes_total", "counter"),
        ("synod_slots_proposed_total", "counter"),
        ("synod_write_commit_duration_seconds", "histogram"),
        ("synod_read_index_rounds_total", "counter"),
        ("synod_handovers_total", "counter"),
        ("synod_preferred_handovers_total", "counter"),
        ("synod_snapshots_refused_total", "counter"),
        ("synod_snapshot_headers_damaged_total", "counter"),
        ("synod_snapshot_memory_bytes", "gauge"),
        ("synod_snapshot_memory_peak_bytes", "gauge"),
        ("synod_gc_background", "gauge"),
        ("synod_snapshot_receiving_bytes", "gauge"),
        ("synod_snapshot_receiving_size_bytes", "gauge"),
        ("synod_preferred_handovers_failed_total", "counter"),
        ("synod_leader", "gauge"),
        ("synod_leader_id", "gauge"),
        ("synod_commit_index", "gauge"),
        ("synod_applied_slot", "gauge"),
        ("synod_apply_lag", "gauge"),
        ("synod_replicas_live", "gauge"),
        ("synod_keys", "gauge"),
        ("synod_wal_size_bytes", "gauge"),
        ("synod_wal_segments", "gauge"),
        ("synod_wal_fsyncs_total", "counter"),
        ("synod_watchers", "gauge"),
        ("synod_leases", "gauge"),
        ("synod_peer_heard_age_seconds", "gauge"),
        ("synod_peer_lag", "gauge"),
        ("dotnet_process_memory_working_set_bytes", "gauge"),
    ];

    [Fact]
    public async Task Every_replica_serves_its_metrics_and_they_move_as_the_cluster_works()
    {
        var endpoints = ReplicaProcesses.NewEndpoints(3);
        var http = ReplicaProcesses.NewEndpoints(3);
        var peers = string.Join(",", endpoints.Select(e => $"{e.Key}={e.Value}"));
        // Replica 3 collects in the background from the start (--background-gc-heap-bytes 0); the others' heaps stay far
        // below the 1 GiB default, so they keep blocking collections.
        await using var cluster = new ReplicaProcesses(endpoints, id => ["--peers", peers, "--http", http[id], .. id == 3 ? ["--background-gc-heap-bytes", "0"] : Array.Empty<string>()]);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        var follower = leader % 3 + 1;
        using var web = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<string> Scrape(int id) => await web.GetStringAsync(new Uri($"http://{http[id]}/metrics"));

        var before = await Scrape(leader);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [endpoints[leader]], OperationTimeout = TimeSpan.FromSeconds(20) });
        const int Puts = 20;
        for (var i = 0; i < Puts; i++)
        {
            await client.PutAsync($"metrics/{i}", "v");
        }

        // Gauges are published every ReplicaMetrics.GaugeViewEveryMs; counters at once.
        string after = "";
        Assert.True(await Eventually.WithinAsync(async () => Value(after = await Scrape(leader), "synod_keys") == Puts, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)),
            $"synod_keys never reached {Puts}:\n{after}");
        foreach (var (name, type) in Required)
        {
            Assert.Contains($"# TYPE {name} {type}\n", after, StringComparison.Ordinal);
        }

        Assert.Equal(Puts, Value(after, "synod_client_requests_total", "method=\"Put\"", "result=\"ok\"") - Value(before, "synod_client_requests_total", "method=\"Put\"", "result=\"ok\""));
        Assert.True(Value(after, "synod_slots_applied_total") - Value(before, "synod_slots_applied_total") >= Puts / 4, "the puts' slots were not counted");
        Assert.True(Value(after, "synod_wal_fsync_duration_seconds_count") > Value(before, "synod_wal_fsync_duration_seconds_count"), "no fsync was timed");
        Assert.True(Value(after, "synod_slots_proposed_total") - Value(before, "synod_slots_proposed_total") >= Puts / 4, "the puts' proposals were not counted");
        Assert.True(Value(after, "synod_write_commit_duration_seconds_count") - Value(before, "synod_write_commit_duration_seconds_count") >= Puts, "the puts' commits were not timed");
        // The leader's election is counted with the kind of its reason.
        Assert.True(Value(after, "synod_role_changes_total", "role=\"leader\"", "reason=\"elected\"") >= 1, "the leader's election was not counted with its reason");
        Assert.Equal(1, Value(after, "synod_leader"));
        Assert.Equal(leader, Value(after, "synod_leader_id"));

        // The leader hears its followers all the time (a heartbeat every few ticks); each is named by its id. The bound is
        // loose on purpose: a sane age, not a timing.
        Assert.InRange(Value(after, "synod_peer_heard_age_seconds", $"peer=\"{follower}\""), 0, 10);
        Assert.Contains($"synod_peer_lag{{otel_scope_name=\"Synod\",peer=\"{follower}\"", after, StringComparison.Ordinal);

        // The Grafana dashboard (deploy/grafana) reads only metrics a replica serves.
        var dashboard = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "deploy", "synod-dashboard.json"));
        var named = System.Text.RegularExpressions.Regex.Matches(dashboard, @"\b(?:synod|dotnet)_[a-z_]+").Select(m => m.Value)
            .Select(name => System.Text.RegularExpressions.Regex.Replace(name, "_(bucket|sum|count)$", "")).Distinct().ToList();
        Assert.NotEmpty(named);
        Assert.All(named, name => Assert.Contains($"# TYPE {name} ", after, StringComparison.Ordinal));

        // The collector's mode, as the operator reads it: switched within a check or two (CollectorMode.CheckEveryMs).
        string third = "";
        Assert.True(await Eventually.WithinAsync(async () => Value(third = await Scrape(3), "synod_gc_background") == 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)),
            $"replica 3 (--background-gc-heap-bytes 0) never collected in the background:\n{third}");
        Assert.Contains("full collections now run in the background", cluster.Log(3), StringComparison.Ordinal);
        Assert.Equal(0, Value(await Scrape(1), "synod_gc_background"));

        var atFollower = await Scrape(follower);
        Assert.Equal(0, Value(atFollower, "synod_leader"));
        Assert.Contains($"replica=\"{follower}\"", Labels(atFollower, "synod_leader"), StringComparison.Ordinal);
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels hold every one of <paramref name="labels"/> (0 when there is none).</summary>
    private static double Value(string scrape, string name, params string[] labels)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' '
                && labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static string Labels(string scrape, string name)
    {
        var line = scrape.Split('\n').First(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return line[(name.Length + 1)..line.IndexOf('}')];
    }
}
