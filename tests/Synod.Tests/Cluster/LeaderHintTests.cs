using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// Answers name the leader, and the client moves there: a follower serves everything but forwards writes and
/// read-index requests, one hop more per operation.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class LeaderHintTests
{
    private const int OperationsToFindTheLeader = 10;

    /// <summary>Each fresh client starts at a random replica; without the hint all of them would stay where they started.</summary>
    private const int Clients = 6;

    [Fact]
    public async Task Clients_that_start_at_random_replicas_send_their_later_writes_and_reads_to_the_leader()
    {
        await using var cluster = new ReplicaProcesses(3);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        for (var c = 0; c < Clients; c++)
        {
            await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
            var put = await client.PutAsync("hint", "0");
            for (var i = 1; i <= OperationsToFindTheLeader && put.ServedBy != leader; i++)
            {
                put = await client.PutAsync("hint", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            Assert.Equal((uint)leader, put.ServedBy);
            var read = await client.GetAsync("hint");
            Assert.Equal((uint)leader, read.ServedBy);
            Assert.Equal(put.Endpoint, read.Endpoint);
        }
    }
}
