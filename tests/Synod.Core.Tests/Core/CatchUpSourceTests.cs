using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>
/// Where a replica that is behind asks for what it misses. Any replica that knows a slot chosen may tell it (a chosen
/// value never changes), so the choice is one of cost: the leader's snapshot is the newest and its log reaches
/// furthest, where a follower's snapshot may be older. A learner that took a follower's older snapshot fetched the
/// leader's as well once the leader's heartbeat came (642 MB, then 797 MB, at 2.75M keys). So a replica waits one
/// election timeout after its start for the leader's heartbeat before it asks a follower.
/// </summary>
public sealed class CatchUpSourceTests
{
    private const int Leader = 3;
    private const int Follower = 2;
    private static readonly Ballot LeaderBallot = new(1, Leader);

    [Fact]
    public void A_replica_that_just_started_waits_for_the_leaders_heartbeat_rather_than_catch_up_from_a_follower()
    {
        var (replica, take) = Replica();

        replica.Step(FollowerHeartbeat(commitIndex: 90));
        Assert.Empty(take().OfType<CatchUpRequest>());

        replica.Step(LeaderHeartbeat(commitIndex: 90));
        Assert.Equal(Leader, take().OfType<CatchUpRequest>().Single().To);
    }

    [Fact]
    public void After_its_first_election_timeout_a_replica_asks_a_follower_that_is_ahead()
    {
        var (replica, take) = Replica();
        for (var tick = 0; tick < Options.ElectionTimeoutTicks; tick++)
        {
            replica.Tick();
        }

        take();
        replica.Step(FollowerHeartbeat(commitIndex: 90));
        Assert.Equal(Follower, take().OfType<CatchUpRequest>().Single().To);
    }

    private static ReplicaOptions Options { get; } = new() { Id = 1, Members = [1, 2, 3], RetransmitTicks = 4 };

    private static Heartbeat LeaderHeartbeat(long commitIndex) => new(Leader, 1, LeaderBallot, true, commitIndex, 0, 0);

    private static Heartbeat FollowerHeartbeat(long commitIndex) => new(Follower, 1, LeaderBallot, false, commitIndex, 0, 0);

    private static (Replica Replica, Func<List<Message>> Take) Replica()
    {
        var replica = new Replica(Options, new SeededRandom(1));
        return (replica, () =>
        {
            var ready = replica.TakeReady();
            replica.Persisted(ready.Number);
            return ready.Messages;
        });
    }
}
