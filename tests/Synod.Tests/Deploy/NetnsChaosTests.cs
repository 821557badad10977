using System.Text.RegularExpressions;
using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Deploy;

/// <summary>
/// Issue 20: `synod chaos --net netns` as a user runs it: three replicas in network namespaces of their own, real
/// partitions and packet loss by nftables, delays by the switch between the namespaces, 15 s; the history is
/// linearizable and the replicas converge. Skipped, with one line, where
/// namespaces cannot be made.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed partial class NetnsChaosTests
{
    [NetnsFact]
    public async Task A_short_chaos_run_on_network_namespaces_with_real_partitions_packet_loss_and_delays_is_linearizable_and_converges()
    {
        var run = await CliExitCodeTests.RunAsync(TimeSpan.FromSeconds(150),
            "chaos", "--net", "netns", "--replicas", "3", "--duration", "15s", "--faults", "partition,loss,delay", "--seed", "11", "--clients", "4");

        Assert.True(run.ExitCode == ExitCodes.Ok, $"exit {run.ExitCode}: {run.Stdout}\n{run.Stderr}");
        Assert.Contains("linearizable: yes", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("result        PASS", run.Stdout, StringComparison.Ordinal);
        // The summary's count, the last of the progress lines' ones.
        var partitions = int.Parse(Partitions().Matches(run.Stdout)[^1].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(partitions > 0, $"no partition was made:\n{run.Stdout}");
        Assert.Matches(@"losses [1-9]", run.Stdout);
        Assert.Matches(@"delays [1-9]", run.Stdout);
    }

    [GeneratedRegex(@"partitions (\d+)")]
    private static partial Regex Partitions();
}
