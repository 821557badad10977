using System.Text.Json;
using Synod.Cli;
using Synod.Client;
using Synod.Tests.Storage;

namespace Synod.Tests.Cluster;

/// <summary>Transactions as a user meets them: `synod txn` with a JSON file, and transfers by the client library that keep a total.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class TxnTests
{
    [Fact]
    public async Task Synod_txn_applies_one_branch_prints_it_and_refuses_a_malformed_file_with_exit_2()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "txn.json");
        await File.WriteAllTextAsync(file, """
            {"compare": [{"key": "lock", "target": "version", "op": "=", "number": 0}],
             "success": [{"op": "put", "key": "lock", "value": "me"}, {"op": "put", "key": "owner", "value": "me"}, {"op": "range", "prefix": "o"}],
             "failure": [{"op": "get", "key": "lock"}]}
            """);

        var first = await Cli("txn", file, "--endpoints", endpoints);
        Assert.Equal((ExitCodes.Ok, "SUCCESS\n\nOK\n\nOK\n\nowner\nme\n"), (first.ExitCode, first.Stdout));
        var second = await Cli("txn", file, "--json", "--endpoints", endpoints);
        using var json = JsonDocument.Parse(second.Stdout);
        Assert.False(json.RootElement.GetProperty("succeeded").GetBoolean());
        var get = json.RootElement.GetProperty("results")[0];
        Assert.Equal(("get", "lock", "me"), (get.GetProperty("op").GetString(), get.GetProperty("kv").GetProperty("key").GetString(), get.GetProperty("kv").GetProperty("value").GetString()));

        await File.WriteAllTextAsync(file, """{"success": [{"op": "put", "key": "a", "value": "1"}, {"op": "delete", "key": "a"}]}""");
        var twice = await Cli("txn", file, "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, twice.ExitCode);
        Assert.Contains("twice in one branch", twice.Stderr, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, """{"compare": [{"key": "a", "target": "colour", "op": "="}]}""");
        var bad = await Cli("txn", file, "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, bad.ExitCode);
        Assert.Contains("compare[0]: target \"colour\"", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_transfers_by_transaction_keep_the_total_in_every_read_of_all_accounts()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        const int Accounts = 4;
        const int Total = 400;
        var clients = Enumerable.Range(0, 5)
            .Select(_ => new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) }))
            .ToList();
        try
        {
            for (var account = 0; account < Accounts; account++)
            {
                await clients[0].PutAsync($"bank/{account}", $"{Total / Accounts}");
            }

            var transfers = 0;
            var sums = new List<int>();
            var workers = clients.Skip(1).Select(async (client, worker) =>
            {
                var random = new Random(worker);
                for (var round = 0; round < 15; round++)
                {
                    var from = random.Next(Accounts);
                    var to = (from + 1 + random.Next(Accounts - 1)) % Accounts;
                    var a = await client.GetAsync($"bank/{from}");
                    var b = await client.GetAsync($"bank/{to}");
                    var amount = Math.Min(int.Parse(a.ValueAsString()), 1 + random.Next(20));
                    var result = await client.Txn()
                        .If($"bank/{from}", SynodCompare.ModRevisionIs(a.ModRevision))
                        .If($"bank/{to}", SynodCompare.ModRevisionIs(b.ModRevision))
                        .Then(
                            SynodTxn.Put($"bank/{from}", $"{int.Parse(a.ValueAsString()) - amount}"),
                            SynodTxn.Put($"bank/{to}", $"{int.Parse(b.ValueAsString()) + amount}"))
                        .CommitAsync();
                    if (result.Succeeded)
                    {
                        Interlocked.Increment(ref transfers);
                    }
                }
            }).ToList();
            var reader = Task.Run(async () =>
            {
                while (!workers.All(w => w.IsCompleted))
                {
                    var page = await clients[0].RangeAsync(SynodRange.Prefix("bank/"));
                    lock (sums)
                    {
                        sums.Add(page.Kvs.Sum(kv => int.Parse(kv.ValueAsString())));
                    }
                }
            });
            await Task.WhenAll(workers);
            await reader;

            Assert.True(transfers > 0, "some transfers should succeed");
            Assert.NotEmpty(sums);
            Assert.All(sums, sum => Assert.Equal(Total, sum));
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
}
