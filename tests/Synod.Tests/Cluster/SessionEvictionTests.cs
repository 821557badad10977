using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// Exactly-once sessions on real replicas (I11, docs/protocol.md): client ids are assigned through the log, and a
/// registration beyond `--sessions-max` evicts the least recently used session. A client whose idle session was
/// evicted meets SessionExpired on its next write; the write was certainly not applied, so the client library
/// registers a new id and sends it again, and the caller sees a plain success.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class SessionEvictionTests
{
    private static SynodClient NewClient(ReplicaProcesses cluster) =>
        new(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task A_write_whose_idle_session_was_evicted_is_sent_again_under_a_new_id_and_applied_once()
    {
        await using var cluster = new ReplicaProcesses(3, "--sessions-max", "1");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var first = NewClient(cluster);
        await using var second = NewClient(cluster);

        var before = await first.PutAsync("k", "1");
        await second.PutAsync("other", "x"); // registers a second id: with one session kept, the first client's goes
        var after = await first.PutAsync("k", "2");

        Assert.NotEqual(before.ClientId, after.ClientId);
        Assert.Equal(1UL, after.Sequence);
        Assert.False(after.Duplicate);
        Assert.Equal("2", (await second.GetAsync("k")).ValueAsString());
    }

    [Fact]
    public async Task Sessions_max_below_1_is_refused_at_start_naming_the_setting()
    {
        var run = await CliExitCodeTests.RunAsync(
            "serve", "--id", "1", "--listen", "127.0.0.1:1", "--peers", "1=127.0.0.1:1", "--data-dir", Path.Combine(Path.GetTempPath(), $"synod-sessions-{Guid.NewGuid():N}"),
            "--insecure-peers", "--sessions-max", "0");

        Assert.Equal(Synod.Cli.ExitCodes.InvalidInput, run.ExitCode);
        Assert.Contains("--sessions-max", run.Stderr, StringComparison.Ordinal);
    }
}
