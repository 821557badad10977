using System.Diagnostics;
using System.Text.Json;
using Synod.Cli;

namespace Synod.Tests.Cluster;

/// <summary>
/// `synod bench`, `bench-echo` and `bench-failover` as a user runs them, against real processes. They assert what
/// the commands report and that the work was really done, never how fast: speed is for the benchmarks to print.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class BenchCommandTests
{
    [Fact]
    public async Task Bench_runs_a_mixed_load_on_a_real_cluster_and_reports_every_operation_in_json()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);

        var run = await CliExitCodeTests.RunAsync(
            "bench", "--endpoints", endpoints, "--mode", "mixed", "--read-ratio", "0.5", "--clients", "8", "--conns", "2",
            "--ops", "300", "--duration", "60s", "--key-space", "20", "--json");

        Assert.True(run.ExitCode == ExitCodes.Ok, $"exit {run.ExitCode}: {run.Stderr}");
        using var report = JsonDocument.Parse(run.Stdout);
        var root = report.RootElement;
        Assert.Equal(300, root.GetProperty("ops").GetInt64());
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.True(root.GetProperty("ops_per_sec").GetDouble() > 0);
        Assert.True(root.GetProperty("p99_ms").GetDouble() >= root.GetProperty("p50_ms").GetDouble());
        Assert.Contains("filled 20 keys", run.Stderr, StringComparison.Ordinal);

        // The fill really wrote the key space: a linearizable read of the last key from another replica finds it.
        var get = await CliExitCodeTests.RunAsync("get", "k000000000000019", "--endpoints", endpoints, "--node", "1");
        Assert.True(get.ExitCode == ExitCodes.Ok, $"the benchmark's key is missing: exit {get.ExitCode}, {get.Stderr}");
    }

    [Fact]
    public async Task Bench_refuses_bad_flags_with_exit_2_and_an_unreachable_target_with_exit_5()
    {
        var clients = await CliExitCodeTests.RunAsync("bench", "--clients", "0");
        Assert.Equal(ExitCodes.InvalidInput, clients.ExitCode);
        Assert.Contains("--clients 0", clients.Stderr, StringComparison.Ordinal);

        var mode = await CliExitCodeTests.RunAsync("bench", "--mode", "scan");
        Assert.Equal(ExitCodes.InvalidInput, mode.ExitCode);
        Assert.Contains("--mode 'scan'", mode.Stderr, StringComparison.Ordinal);

        var down = await CliExitCodeTests.RunAsync("bench", "--endpoints", ReplicaProcesses.NewEndpoints(1)[1], "--timeout", "2", "--ops", "10");
        Assert.Equal(ExitCodes.Unreachable, down.ExitCode);
        Assert.Contains("cannot reach synod", down.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_echo_serves_the_client_api_from_memory_for_the_same_generator()
    {
        var endpoint = ReplicaProcesses.NewEndpoints(1)[1];
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "synod.dll"), "bench-echo", "--listen", endpoint })
        {
            start.ArgumentList.Add(arg);
        }

        using var echo = Process.Start(start)!;
        try
        {
            var ready = await echo.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("echo server on " + endpoint, ready, StringComparison.Ordinal);

            var run = await CliExitCodeTests.RunAsync("bench", "--target", "echo", "--endpoints", endpoint, "--mode", "get", "--clients", "4", "--ops", "200", "--json");

            Assert.True(run.ExitCode == ExitCodes.Ok, $"exit {run.ExitCode}: {run.Stderr}");
            using var report = JsonDocument.Parse(run.Stdout);
            Assert.Equal("echo", report.RootElement.GetProperty("target").GetString());
            Assert.Equal(200, report.RootElement.GetProperty("ops").GetInt64());
            Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
        }
        finally
        {
            echo.Kill();
            await echo.WaitForExitAsync();
        }
    }

    // A soak: failover itself is in the default run (RealClusterTests, GracefulStopTests, the chaos runs); this checks
    // the measuring tool, in 11 s the default run cannot spare.
    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task Bench_failover_kills_the_leader_under_load_and_writes_resume_under_another_leader()
    {
        var run = await CliExitCodeTests.RunAsync("bench-failover", "--replicas", "3", "--clients", "8", "--kills", "1", "--steady", "1s", "--json");

        Assert.True(run.ExitCode == ExitCodes.Ok, $"exit {run.ExitCode}: {run.Stderr}");
        using var report = JsonDocument.Parse(run.Stdout);
        var kill = report.RootElement.GetProperty("kills")[0];
        Assert.True(kill.GetProperty("recovery_ms").GetDouble() > 0);
        Assert.NotEqual(kill.GetProperty("leader").GetInt32(), kill.GetProperty("new_leader").GetInt32());
        Assert.Contains("SIGKILL to leader", run.Stderr, StringComparison.Ordinal);
    }
}
