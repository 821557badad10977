using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>`synod cluster` as a user runs it: whether a cluster is "already running" is decided by lock files, not process ids.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterCommandTests : IDisposable
{
    private const string ReadyLine = "Ctrl-C stops every replica cleanly.";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>How long `synod cluster add` and `remove` may run here: beyond their own wait (--wait-seconds, 120 s by default).</summary>
    private static readonly TimeSpan ClusterChangeLimit = TimeSpan.FromSeconds(150);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"synod-cluster-{Guid.NewGuid():N}");
    private readonly List<Process> _started = [];

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task After_kill_9_of_every_replica_and_of_the_supervisor_synod_cluster_starts_again_while_a_running_one_is_refused()
    {
        var basePort = ThreeFreePorts();
        var first = await StartClusterAsync(basePort);

        var second = await CliExitCodeTests.RunAsync("cluster", "--replicas", "3", "--data-dir", _directory, "--base-port", basePort.ToString());
        Assert.Equal(ExitCodes.InvalidInput, second.ExitCode);
        Assert.Contains("already running", second.Stderr, StringComparison.Ordinal);

        // kill -9 of the supervisor and of every replica it started: nothing stops cleanly, cluster.json still names them.
        var replicaIds = ReplicaProcessIds();
        Assert.Equal(3, replicaIds.Count);
        first.Kill();
        foreach (var pid in replicaIds)
        {
            using var replica = Process.GetProcessById(pid);
            replica.Kill();
            await replica.WaitForExitAsync();
        }

        await first.WaitForExitAsync();

        // After a kill -9 the recorded process ids may belong to anything by now: make them name a live process of ours.
        var stranger = Process.Start("sleep", ["120"]);
        _started.Add(stranger);
        var configPath = Path.Combine(_directory, "cluster.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        var token = config["clusterToken"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{32}$", token);
        Assert.Equal(token, File.ReadAllText(Path.Combine(_directory, "cluster-token")));
        config["replicas"]![0]!["processId"] = stranger.Id;
        // A cluster.json that lost its token (rewritten by an older build, or after a power loss) must not lock the
        // cluster out: the token is also kept on its own, synced.
        config.AsObject().Remove("clusterToken");
        File.WriteAllText(configPath, config.ToJsonString());
        Assert.Contains(stranger.Id, ReplicaProcessIds());

        // The restarted replicas keep the cluster's token, so their data directories (stamped with its id) open.
        var again = await StartClusterAsync(basePort);
        Assert.False(again.HasExited);
        Assert.Equal(token, JsonNode.Parse(File.ReadAllText(configPath))!["clusterToken"]!.GetValue<string>());
        await StopAsync(again);
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_given_cluster_token_names_the_cluster_and_a_later_run_may_repeat_it_but_not_change_it()
    {
        var basePort = ThreeFreePorts();
        var first = await StartClusterAsync(basePort, "--cluster-token", "payments-prod");
        Assert.Equal("payments-prod", JsonNode.Parse(File.ReadAllText(Path.Combine(_directory, "cluster.json")))!["clusterToken"]!.GetValue<string>());
        await StopAsync(first);

        var changed = await CliExitCodeTests.RunAsync(
            "cluster", "--replicas", "3", "--data-dir", _directory, "--base-port", basePort.ToString(), "--cluster-token", "payments-test");
        Assert.Equal(ExitCodes.InvalidInput, changed.ExitCode);
        Assert.Contains("whose --cluster-token is \"payments-prod\", not \"payments-test\"", changed.Stderr, StringComparison.Ordinal);

        var again = await StartClusterAsync(basePort, "--cluster-token", "payments-prod");
        Assert.False(again.HasExited);
        await StopAsync(again);
    }

    /// <summary>
    /// Issue 18: `synod cluster --tls` serves clients over TLS with the replicas' own certificates, and cluster.json names
    /// the CA, so the client commands work unchanged against it; a client that speaks plaintext is refused with a hint.
    /// </summary>
    [Fact]
    public async Task Synod_cluster_tls_serves_clients_over_tls_and_the_client_commands_keep_working_unchanged()
    {
        var basePort = ThreeFreePorts();
        var cluster = await StartClusterAsync(basePort, "--tls");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_directory, "cluster.json")))!;
        Assert.Equal(Path.Combine(_directory, "certs", "ca.pem"), config["tlsCa"]!.GetValue<string>());

        var put = await CliExitCodeTests.RunAsync("put", "secure", "yes", "--data-dir", _directory);
        var get = await CliExitCodeTests.RunAsync("get", "secure", "--data-dir", _directory);
        var plaintext = await CliExitCodeTests.RunAsync("get", "secure", "--endpoints", $"127.0.0.1:{basePort}", "--timeout", "2s");

        Assert.True(put.ExitCode == ExitCodes.Ok, put.Stderr);
        Assert.Equal("yes", get.Stdout.Trim());

        // Every replica answers status over TLS. On a loaded test machine one answer may miss the command's deadline
        // (CI once saw 2 of 3), so status is asked again until all three are up, as a user would, for a bounded time.
        JsonArray rows = [];
        var statusOut = "";
        Assert.True(await Eventually.WithinAsync(async () =>
        {
            var status = await CliExitCodeTests.RunAsync("status", "--data-dir", _directory, "--json");
            statusOut = status.Stdout + status.Stderr;
            rows = JsonNode.Parse(status.Stdout)!.AsArray();
            return rows.Count(r => r!["up"]!.GetValue<bool>()) == 3;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(500)), $"not every replica is up in synod status: {statusOut}");

        // Each replica serves its metrics where cluster.json and status say.
        using var web = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var row in rows)
        {
            Assert.Equal($"127.0.0.1:{basePort + 1_000 + row!["id"]!.GetValue<int>() - 1}", row["http"]!.GetValue<string>());
            Assert.Contains("# TYPE synod_leader gauge", await web.GetStringAsync(new Uri($"http://{row["http"]!.GetValue<string>()}/metrics")), StringComparison.Ordinal);
        }

        Assert.NotEqual(ExitCodes.Ok, plaintext.ExitCode);
        // The words depend on which failure the client's last attempt met (a closed connection, or its deadline).
        Assert.Contains($"127.0.0.1:{basePort}", plaintext.Stderr, StringComparison.Ordinal);
        await StopAsync(cluster);
    }

    /// <summary>
    /// The README's growing and shrinking, as a user types it, under a client load: `synod cluster add` four times
    /// (3 → 5 → 7 voters: the supervisor starts each new replica with --join, it catches up and is promoted), then
    /// `synod cluster remove` of the two newest (→ 5), of the leader (it hands its leadership over first) and of one more
    /// (→ 3). Every acknowledged write is kept, the removed replicas stop, and cluster.json follows.
    /// </summary>
    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task Synod_cluster_grows_from_three_voters_to_seven_and_shrinks_back_to_three_under_load_keeping_every_acknowledged_write()
    {
        var basePort = ThreeFreePorts();
        var supervisor = await StartClusterAsync(basePort);
        var first = Enumerable.Range(0, 3).Select(i => $"127.0.0.1:{basePort + i}").ToList();
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = first });
        using var stop = new CancellationTokenSource();
        var acknowledged = new List<string>();
        var writing = Task.Run(async () =>
        {
            var failed = 0;
            await using var writer = new SynodClient(new SynodClientOptions { Endpoints = first, OperationTimeout = TimeSpan.FromSeconds(10) });
            for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await writer.PutAsync($"w{i}", $"v{i}");
                    lock (acknowledged) { acknowledged.Add($"w{i}"); }
                }
                catch (SynodException)
                {
                    failed++;
                }
            }

            return failed;
        });

        for (var added = 4; added <= 7; added++)
        {
            var add = await CliExitCodeTests.RunAsync(ClusterChangeLimit, "cluster", "add", "--data-dir", _directory);
            Assert.True(add.ExitCode == ExitCodes.Ok, $"cluster add exited {add.ExitCode}: {add.Stderr}\n{add.Stdout}");
            Assert.Contains($"replica {added} promoted to voter", add.Stdout, StringComparison.Ordinal);
        }

        var seven = await client.MembersAsync();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], seven.Members.Where(m => m.Voter).Select(m => m.Id).Order());
        Assert.Equal(7, ReplicaProcessIds().Count);

        var leader = seven.LeaderId;
        var removals = new[] { 7, 6, leader, new[] { 5, 4 }.First(id => id != leader) };
        foreach (var id in removals)
        {
            await WaitUntilSettledAsync(client);
            var remove = await CliExitCodeTests.RunAsync(ClusterChangeLimit, "cluster", "remove", id.ToString(), "--data-dir", _directory);
            Assert.True(remove.ExitCode == ExitCodes.Ok, $"cluster remove {id} exited {remove.ExitCode}: {remove.Stderr}");
        }

        // The removed replicas stop on their own, and the supervisor takes them out of cluster.json (or marks them removed).
        var left = seven.Members.Select(m => m.Id).Except(removals).Order().ToList();
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(ReplicaProcessIds().Count == 3), TimeSpan.FromSeconds(60)),
            File.ReadAllText(Path.Combine(_directory, "cluster.json")));
        await stop.CancelAsync();
        var failed = await writing;
        Assert.True(acknowledged.Count > 50, $"only {acknowledged.Count} writes were acknowledged ({failed} failed)");

        await using var survivors = new SynodClient(new SynodClientOptions { Endpoints = [.. ConfiguredEndpoints()] });
        var three = await survivors.MembersAsync();
        Assert.Equal(left, three.Members.Where(m => m.Voter).Select(m => m.Id).Order());
        Assert.Equal(3, three.Members.Count);
        foreach (var key in acknowledged)
        {
            var value = await survivors.GetAsync(key);
            Assert.Equal("v" + key[1..], System.Text.Encoding.UTF8.GetString(value.Value.Span));
        }

        await StopAsync(supervisor);
    }

    private static async Task WaitUntilSettledAsync(SynodClient client) =>
        Assert.True(await Eventually.WithinAsync(async () =>
        {
            try
            {
                return !(await client.MembersAsync()).Pending;
            }
            catch (SynodException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)), "a membership change did not take effect");

    /// <summary>The endpoints cluster.json lists for replicas that are not removed.</summary>
    private List<string> ConfiguredEndpoints()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "cluster.json")));
        return [.. config.RootElement.GetProperty("replicas").EnumerateArray()
            .Where(r => !r.TryGetProperty("removed", out var removed) || !removed.GetBoolean())
            .Select(r => r.GetProperty("endpoint").GetString()!)];
    }

    private async Task<Process> StartClusterAsync(int basePort, params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [Path.Combine(AppContext.BaseDirectory, "synod.dll"), "cluster", "--replicas", "3", "--data-dir", _directory, "--base-port", basePort.ToString(), .. extra];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        _started.Add(process);
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(StartTimeout);
        var output = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
        {
            output.Add(line);
            if (line.Contains(ReadyLine, StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return process;
            }
        }

        await process.WaitForExitAsync(limit.Token);
        throw new InvalidOperationException($"synod cluster exited with {process.ExitCode} before it was ready: {await stderr}\n{string.Join('\n', output)}");
    }

    private List<int> ReplicaProcessIds()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "cluster.json")));
        return [.. config.RootElement.GetProperty("replicas").EnumerateArray()
            .Where(r => r.TryGetProperty("processId", out var pid) && pid.ValueKind == JsonValueKind.Number)
            .Select(r => r.GetProperty("processId").GetInt32())];
    }

    private static async Task StopAsync(Process cluster)
    {
        using var kill = Process.Start("kill", ["-TERM", cluster.Id.ToString()]);
        await kill.WaitForExitAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await cluster.WaitForExitAsync(limit.Token);
        Assert.Equal(ExitCodes.Ok, cluster.ExitCode);
    }

    /// <summary>
    /// A base port with it and the next seven free on loopback (the command needs consecutive ports, and `cluster add`
    /// takes the next ones), below the system's ephemeral range: a port from that range can meanwhile become the source
    /// port of some client's outgoing connection, and a replica started or added there later would find it taken.
    /// </summary>
    private static int ThreeFreePorts()
    {
        var below = EphemeralStart();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            // And the replicas' metrics ports, 1,000 above (synod cluster's default --http-base-port).
            var port = Random.Shared.Next(10_000, Math.Max(10_001, below - 1_010));
            if (Enumerable.Range(port, 8).Concat(Enumerable.Range(port + 1_000, 8)).All(Free))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no eight consecutive free loopback ports found below the ephemeral range in 200 tries");
    }

    /// <summary>The first port of the system's ephemeral range (32768 when it cannot be read).</summary>
    private static int EphemeralStart()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        // A supervisor still running (a failed assertion) takes its replicas with it.
        foreach (var process in _started.Where(p => !p.HasExited))
        {
            process.Kill(entireProcessTree: true);
        }

        Directory.Delete(_directory, recursive: true);
    }
}
