using System.Text.Json;
using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// History and compaction as a user meets them: get and range at a past revision, `synod compact`, the refusal that
/// names the oldest revision kept, and a window that survives a replica's restart (its snapshot and log).
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class HistoryTests
{
    [Fact]
    public async Task Reads_at_a_past_revision_see_the_past_until_it_is_compacted_and_then_name_the_oldest_revision_kept()
    {
        // Snapshots every few slots, so that the restarted replica restores its window from a snapshot and a log tail.
        await using var cluster = new ReplicaProcesses(3, "--snapshot-every-slots", "4");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);

        var revisions = new List<long>();
        foreach (var value in new[] { "v1", "v2", "v3", "v4" })
        {
            var put = await Cli("put", "config", value, "--json", "--endpoints", endpoints);
            Assert.Equal(ExitCodes.Ok, put.ExitCode);
            using var json = JsonDocument.Parse(put.Stdout);
            revisions.Add(json.RootElement.GetProperty("revision").GetInt64());
            Assert.Equal(ExitCodes.Ok, (await Cli("put", $"config/{value}", "x", "--endpoints", endpoints)).ExitCode);
        }

        Assert.Equal("v1", (await Cli("get", "config", "--rev", $"{revisions[0]}", "--endpoints", endpoints)).Stdout.Trim());
        Assert.Equal("v3", (await Cli("get", "config", "--rev", $"{revisions[2]}", "--endpoints", endpoints, "--node", "2")).Stdout.Trim());
        var before = await Cli("get", "config/v4", "--rev", $"{revisions[2]}", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.NotFound, before.ExitCode);
        Assert.Contains($"had no value at revision {revisions[2]}", before.Stderr, StringComparison.Ordinal);
        var range = await Cli("range", "--prefix", "config/", "--keys-only", "--rev", $"{revisions[1] + 1}", "--endpoints", endpoints);
        Assert.Equal(["config/v1", "config/v2"], range.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var compact = await Cli("compact", $"{revisions[2]}", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.Ok, compact.ExitCode);
        Assert.Contains($"the oldest revision kept is {revisions[2]}", compact.Stdout, StringComparison.Ordinal);

        var compacted = await Cli("get", "config", "--rev", $"{revisions[0]}", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.NotFound, compacted.ExitCode);
        Assert.Contains($"revision {revisions[0]} has been compacted: the oldest revision kept is {revisions[2]}", compacted.Stderr, StringComparison.Ordinal);
        var future = await Cli("get", "config", "--rev", "1000000", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, future.ExitCode);
        Assert.Contains("in the future", future.Stderr, StringComparison.Ordinal);

        var status = await Cli("status", "--json", "--endpoints", endpoints);
        using (var rows = JsonDocument.Parse(status.Stdout))
        {
            Assert.All(rows.RootElement.EnumerateArray(), row => Assert.Equal(revisions[2], row.GetProperty("compactRevision").GetInt64()));
        }

        // A restarted replica keeps the window (its snapshot carries it) and the compaction point.
        cluster.Kill(3);
        cluster.Start(3);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        var pinned = new SynodCallOptions { PinnedEndpointIndex = 2, OperationTimeout = TimeSpan.FromSeconds(20) };
        var third = await RetryUntilServedAsync(() => client.GetAsync("config", revisions[2], options: pinned));
        Assert.Equal("v3", third.ValueAsString());
        var refused = await Assert.ThrowsAsync<SynodCompactedException>(() => client.GetAsync("config", revisions[1], options: pinned));
        Assert.Equal(revisions[2], refused.CompactRevision);
    }

    /// <summary>A replica just restarted may not know a leader yet; a linearizable read there is retried until it is served.</summary>
    private static async Task<T> RetryUntilServedAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (SynodUnavailableException) when (attempt < 20)
            {
                await Task.Delay(500);
            }
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);
}
