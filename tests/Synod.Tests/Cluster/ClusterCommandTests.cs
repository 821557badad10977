using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Synod.Cli;

namespace Synod.Tests.Cluster;

/// <summary>`synod cluster` as a user runs it: whether a cluster is "already running" is decided by lock files, not process ids.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClusterCommandTests : IDisposable
{
    private const string ReadyLine = "Ctrl-C stops every replica cleanly.";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"synod-cluster-{Guid.NewGuid():N}");
    private readonly List<Process> _started = [];

    [Fact]
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

    [Fact]
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

    /// <summary>A base port with it and the next two free on loopback (the command needs consecutive ports).</summary>
    private static int ThreeFreePorts()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port + 2 <= 65535 && Enumerable.Range(port, 3).All(Free))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no three consecutive free loopback ports found in 50 tries");
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
