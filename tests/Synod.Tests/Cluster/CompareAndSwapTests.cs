using System.Text.Json;
using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>Revisions and compare-and-swap as a user meets them: the CLI's --if-... flags and exit 7, and the client library under contention.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class CompareAndSwapTests
{
    [Fact]
    public async Task Put_and_delete_with_a_condition_write_only_if_it_holds_and_exit_7_naming_the_keys_version_if_not()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);

        Assert.Equal(ExitCodes.Ok, (await Cli("put", "config", "v1", "--if-absent", "--endpoints", endpoints)).ExitCode);
        var taken = await Cli("put", "config", "other", "--if-absent", "--endpoints", endpoints);
        AssertCompareFailed(taken, "config is at version 1, mod revision");

        var read = await Cli("get", "config", "--json", "--endpoints", endpoints, "--node", "2");
        using var json = JsonDocument.Parse(read.Stdout);
        var modRevision = json.RootElement.GetProperty("mod_revision").GetInt64();
        Assert.Equal("v1", json.RootElement.GetProperty("value").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("version").GetInt64());
        Assert.Equal(modRevision, json.RootElement.GetProperty("create_revision").GetInt64());
        Assert.True(json.RootElement.GetProperty("revision").GetInt64() >= modRevision);

        var swapped = await Cli("put", "config", "v2", "--if-mod-revision", $"{modRevision}", "--json", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.Ok, swapped.ExitCode);
        using var written = JsonDocument.Parse(swapped.Stdout);
        Assert.Equal(2, written.RootElement.GetProperty("version").GetInt64());
        Assert.True(written.RootElement.GetProperty("mod_revision").GetInt64() > modRevision);
        var stale = await Cli("put", "config", "v3", "--if-mod-revision", $"{modRevision}", "--json", "--endpoints", endpoints);
        AssertCompareFailed(stale, "config is at version 2");
        using (var failed = JsonDocument.Parse(stale.Stdout))
        {
            Assert.True(failed.RootElement.GetProperty("compare_failed").GetBoolean());
            Assert.Equal(2, failed.RootElement.GetProperty("version").GetInt64());
        }

        Assert.Equal(ExitCodes.Ok, (await Cli("put", "config", "v3", "--if-value", "v2", "--endpoints", endpoints)).ExitCode);
        Assert.Equal(ExitCodes.Ok, (await Cli("put", "config", "v4", "--if-version", "3", "--endpoints", endpoints)).ExitCode);
        AssertCompareFailed(await Cli("put", "absent", "x", "--if-value", "anything", "--endpoints", endpoints), "absent is absent");

        AssertCompareFailed(await Cli("delete", "config", "--if-version", "1", "--endpoints", endpoints), "config is at version 4");
        Assert.Equal((ExitCodes.Ok, "v4"), await Value("config"));
        Assert.Equal(ExitCodes.Ok, (await Cli("delete", "config", "--if-version", "4", "--endpoints", endpoints)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Value("config")).ExitCode);

        var both = await Cli("put", "config", "x", "--if-absent", "--if-version", "0", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, both.ExitCode);
        Assert.Contains("at most one condition", both.Stderr, StringComparison.Ordinal);

        async Task<(int ExitCode, string Value)> Value(string key)
        {
            var run = await Cli("get", key, "--endpoints", endpoints);
            return (run.ExitCode, run.Stdout.Trim());
        }
    }

    [Fact]
    public async Task Clients_that_increment_a_counter_by_compare_and_swap_lose_no_increment()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        const int Workers = 6;
        const int IncrementsEach = 15;
        var clients = Enumerable.Range(0, Workers)
            .Select(_ => new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) }))
            .ToList();
        try
        {
            await clients[0].PutAsync("counter", "0");
            var conflicts = 0;
            await Task.WhenAll(clients.Select(async client =>
            {
                for (var done = 0; done < IncrementsEach;)
                {
                    var read = await client.GetAsync("counter");
                    var next = int.Parse(read.ValueAsString(), System.Globalization.CultureInfo.InvariantCulture) + 1;
                    var put = await client.PutAsync("counter", $"{next}", SynodCompare.ModRevisionIs(read.ModRevision));
                    if (put.CompareFailed)
                    {
                        Interlocked.Increment(ref conflicts);
                        Assert.True(put.ModRevision > read.ModRevision, "a failed compare reports the newer mod revision that beat it");
                    }
                    else
                    {
                        done++;
                    }
                }
            }));

            var final = await clients[0].GetAsync("counter");
            Assert.Equal($"{Workers * IncrementsEach}", final.ValueAsString());
            Assert.Equal(Workers * IncrementsEach + 1, final.Version);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);

    private static void AssertCompareFailed((int ExitCode, string Stdout, string Stderr) run, string mentions)
    {
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(run.ExitCode == ExitCodes.CompareFailed, $"exit code {run.ExitCode}, expected {ExitCodes.CompareFailed}; stderr: {run.Stderr}");
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: compare failed: ", StringComparison.Ordinal), $"stderr should be one line: {run.Stderr}");
        Assert.Contains(mentions, lines[0], StringComparison.Ordinal);
    }
}
