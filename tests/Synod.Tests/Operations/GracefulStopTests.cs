using System.Text.Json;
using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Operations;

/// <summary>
/// Issue 19, graceful handover: a leader told to stop (SIGTERM) hands leadership to another voter before its port
/// closes, and the clients' writes go on without a failure. Asserted through `synod bench-failover --graceful` as a user
/// runs it, and through the stopped replica's own log line; how long the gap was is for the benchmark to print.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class GracefulStopTests
{
    [Fact]
    public async Task A_leader_stopped_with_sigterm_hands_over_and_no_client_write_fails()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"synod-graceful-{Guid.NewGuid():N}");
        try
        {
            var run = await CliExitCodeTests.RunAsync(
                "bench-failover", "--graceful", "--replicas", "3", "--clients", "8", "--kills", "1", "--steady", "1s", "--dir", dir, "--json");

            Assert.True(run.ExitCode == ExitCodes.Ok, $"exit {run.ExitCode}: {run.Stderr}");
            using var report = JsonDocument.Parse(run.Stdout);
            var stop = report.RootElement.GetProperty("kills")[0];
            var leader = stop.GetProperty("leader").GetInt32();
            var next = stop.GetProperty("new_leader").GetInt32();
            Assert.NotEqual(leader, next);
            Assert.True(stop.GetProperty("was_leader").GetBoolean());
            Assert.Equal(0, stop.GetProperty("failed").GetInt64());
            Assert.Equal(0, stop.GetProperty("unknown").GetInt64());
            Assert.Contains($"SIGTERM to leader {leader}", run.Stderr, StringComparison.Ordinal);

            // The stopped leader handed over rather than leaving an election to find one: its log says to whom.
            var log = await File.ReadAllTextAsync(Path.Combine(dir, "logs", $"r{leader}.log"));
            Assert.Contains($"replica {leader} stopping: handed leadership to replica {next};", log, StringComparison.Ordinal);
            Assert.Contains("0 client request(s) unanswered", log, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("soon", "is not a duration")]
    [InlineData("20s", "is too long")]
    public async Task A_bad_shutdown_drain_is_refused_with_exit_2_naming_the_flag(string value, string problem)
    {
        var run = await CliExitCodeTests.RunAsync("serve", "--id", "1", "--peers", "1=127.0.0.1:1", "--data-dir", Path.GetTempPath(), "--shutdown-drain", value);
        CliExitCodeTests.AssertFailure(run, ExitCodes.InvalidInput, "--shutdown-drain");
        Assert.Contains(problem, run.Stderr, StringComparison.Ordinal);
    }
}
