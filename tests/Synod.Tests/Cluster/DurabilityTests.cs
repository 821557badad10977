using System.Collections.Concurrent;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// Nothing acknowledged is ever lost: real replica processes are killed with SIGKILL, all at once, in the middle of a
/// write load, and every write a client saw acknowledged must be read back after they restart.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class DurabilityTests
{
    private const int Replicas = 5;
    private const int Rounds = 2; // each round kills all five; a third took 7 s of the default run's ten minutes
    private const int Writers = 6;

    /// <summary>Writes a writer attempts per round at most; the round ends earlier when every replica is killed.</summary>
    private const int WritesPerWriterMax = 400;

    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_acknowledged_write_survives_kill_9_of_every_replica_in_the_middle_of_a_write_load_round_after_round()
    {
        await using var cluster = new ReplicaProcesses(Replicas);
        var acknowledged = new ConcurrentDictionary<string, string>();
        for (var round = 0; round < Rounds; round++)
        {
            await cluster.WaitForLeaderAsync(StartupLimit);
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => WriteUntilStoppedAsync(cluster, round, w, acknowledged, stop.Token)).ToList();

            // Let the load get going, then kill every replica while writes are in flight.
            var before = acknowledged.Count;
            await Eventually.WithinAsync(() => Task.FromResult(acknowledged.Count >= before + 150), TimeSpan.FromSeconds(20));

            foreach (var id in cluster.Endpoints.Keys.OrderBy(_ => Random.Shared.Next()))
            {
                cluster.Kill(id);
            }

            await stop.CancelAsync();
            await Task.WhenAll(writers);
            Assert.True(acknowledged.Count > before, $"round {round}: no write was acknowledged before the kill.\n{cluster.AllLogs()}");
            foreach (var id in cluster.Endpoints.Keys)
            {
                cluster.Start(id);
            }
        }

        await cluster.WaitForLeaderAsync(StartupLimit);
        await using var reader = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        var missing = new List<string>();
        foreach (var (key, value) in acknowledged)
        {
            try
            {
                var read = await reader.GetAsync(key);
                if (read.ValueAsString() != value)
                {
                    missing.Add($"{key}={read.ValueAsString()} (acknowledged {value})");
                }
            }
            catch (SynodNotFoundException)
            {
                missing.Add($"{key} absent (acknowledged {value})");
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged writes were lost: {string.Join(", ", missing.Take(10))}");
    }

    private static async Task WriteUntilStoppedAsync(ReplicaProcesses cluster, int round, int writer, ConcurrentDictionary<string, string> acknowledged, CancellationToken stop)
    {
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(3) });
        for (var i = 0; i < WritesPerWriterMax && !stop.IsCancellationRequested; i++)
        {
            var key = $"r{round}-w{writer}-{i}";
            var value = $"v{round}.{writer}.{i}";
            try
            {
                await client.PutAsync(key, value, SynodCallOptions.Pinned((writer + i) % Replicas), CancellationToken.None);
                acknowledged[key] = value;
            }
            catch (SynodException)
            {
                // Outcome unknown (the replicas are being killed): such a write may or may not be there, and is not checked.
            }
        }
    }
}
