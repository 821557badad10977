using System.Text.Json;
using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>Range reads as a user meets them: `synod range` and the client library's pages, on real processes.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class RangeTests
{
    [Fact]
    public async Task Synod_range_lists_a_prefix_in_order_with_limit_keys_only_count_only_and_json()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);
        foreach (var (key, value) in new[] { ("svc/b", "2"), ("svc/a", "1"), ("svc/c", "3"), ("svcx", "no"), ("other", "no") })
        {
            Assert.Equal(ExitCodes.Ok, (await Cli("put", key, value, "--endpoints", endpoints)).ExitCode);
        }

        var all = await Cli("range", "--prefix", "svc/", "--endpoints", endpoints, "--node", "2");
        Assert.Equal((ExitCodes.Ok, "svc/a\n1\nsvc/b\n2\nsvc/c\n3\n"), (all.ExitCode, all.Stdout));
        Assert.Equal("svc/a\nsvc/b\n", (await Cli("range", "--from", "svc/a", "--to", "svc/c", "--keys-only", "--endpoints", endpoints)).Stdout);
        Assert.Equal("3\n", (await Cli("range", "--prefix", "svc/", "--count-only", "--endpoints", endpoints)).Stdout);

        var page = await Cli("range", "--prefix", "svc/", "--limit", "2", "--json", "--endpoints", endpoints);
        using var json = JsonDocument.Parse(page.Stdout);
        Assert.True(json.RootElement.GetProperty("more").GetBoolean());
        Assert.Equal(3, json.RootElement.GetProperty("count").GetInt64());
        var kvs = json.RootElement.GetProperty("kvs").EnumerateArray().ToList();
        Assert.Equal(["svc/a", "svc/b"], kvs.Select(kv => kv.GetProperty("key").GetString()));
        Assert.Equal(1, kvs[0].GetProperty("version").GetInt64());

        var both = await Cli("range", "--prefix", "svc/", "--from", "a", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, both.ExitCode);
        Assert.StartsWith("error: give --prefix or --from", both.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_reads_a_range_larger_than_one_page_in_pages_and_misses_no_key()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        const int Keys = 120;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
        {
            for (var i = worker; i < Keys; i += 8)
            {
                await client.PutAsync($"job/{i:D4}", $"{i}");
            }
        }));

        var keys = new List<string>();
        await foreach (var kv in client.RangeAllAsync(SynodRange.Prefix("job/")))
        {
            keys.Add(kv.KeyAsString());
        }

        Assert.Equal(Enumerable.Range(0, Keys).Select(i => $"job/{i:D4}"), keys);
        var firstPage = await client.RangeAsync(SynodRange.Prefix("job/", limit: 50));
        Assert.Equal((50, true, 51L), (firstPage.Kvs.Count, firstPage.More, firstPage.Count));
        Assert.Equal(Keys, (await client.RangeAsync(SynodRange.Prefix("job/", countOnly: true))).Count);
        var limited = new List<string>();
        await foreach (var kv in client.RangeAllAsync(SynodRange.Prefix("job/", limit: 70)))
        {
            limited.Add(kv.KeyAsString());
        }

        Assert.Equal(70, limited.Count);

        // Six values of 900 KB: more than one answer's 4 MiB, so the range comes in two pages and misses nothing.
        var big = new string('x', 900_000);
        for (var i = 0; i < 6; i++)
        {
            await client.PutAsync($"big/{i}", big + i);
        }

        var bigPage = await client.RangeAsync(SynodRange.Prefix("big/"));
        Assert.True(bigPage.More, "six values of 900 KB do not fit in one 4 MiB answer");
        Assert.Equal(4, bigPage.Kvs.Count);
        var bigKeys = new List<string>();
        await foreach (var kv in client.RangeAllAsync(SynodRange.Prefix("big/")))
        {
            Assert.Equal(big + kv.KeyAsString()[^1], kv.ValueAsString());
            bigKeys.Add(kv.KeyAsString());
        }

        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"big/{i}"), bigKeys);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);
}
