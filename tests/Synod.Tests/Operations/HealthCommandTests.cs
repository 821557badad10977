using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Operations;

/// <summary>
/// `synod health`, the check a container or a script runs (issue 20, packages): exit 0 for a replica that serves, 5 for
/// one that cannot be reached, 2 for a malformed endpoint, each with one line saying so.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class HealthCommandTests
{
    [Fact]
    public async Task Health_says_serving_for_a_running_replica_and_unreachable_for_a_closed_port()
    {
        await using var cluster = new ReplicaProcesses(1);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        var serving = await CliExitCodeTests.RunAsync("health", "--endpoint", cluster.EndpointList[0], "--json");
        Assert.True(serving.ExitCode == ExitCodes.Ok, $"exit {serving.ExitCode}: {serving.Stderr}");
        Assert.Contains("\"serving\":true", serving.Stdout, StringComparison.Ordinal);

        var closed = ReplicaProcesses.NewEndpoints(1)[1];
        var unreachable = await CliExitCodeTests.RunAsync("health", "--endpoint", closed, "--timeout", "1s");
        CliExitCodeTests.AssertFailure(unreachable, ExitCodes.Unreachable, closed);

        var malformed = await CliExitCodeTests.RunAsync("health", "--endpoint", "nowhere");
        CliExitCodeTests.AssertFailure(malformed, ExitCodes.InvalidInput, "--endpoint");
    }
}
