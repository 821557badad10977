using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// A cluster of one replica (`synod serve` alone, a developer's setup) answers a write in the pass that proposed it.
/// Found measuring large values: a lone replica took 10 ms (one tick) per put of any size, because the driver's loop
/// stopped while the replica's own Accepted still waited, its count of messages to itself unchanged at one.
/// </summary>
public sealed class LoneReplicaTests
{
    [Fact]
    public void A_lone_replica_chooses_and_answers_a_write_without_waiting_for_a_tick()
    {
        var cluster = new DriverCluster(1, sessionsMax: 16);
        cluster.ElectLeader();

        var answer = cluster.Write(1, new KvCommand(0, 5, KvOperation.Register, [], []));

        Assert.Equal(1, answer.Answers);
        Assert.NotNull(answer.Result);
        Assert.Equal(0, cluster[1].Core.SelfMessagesWaiting);
    }
}
