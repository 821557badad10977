using Synod.Core.Messages;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// Lease clocks on real drivers and cores: a keep-alive at the leader is answered "kept alive" only at a confirmed
/// read index; one that arrives after the lease's TTL ran out there is answered "not found" at once, because the
/// expiry may already be on its way into the log (the first cold review's H1), and the lease then ends.
/// </summary>
public sealed class LeaseDriverTests
{
    private const long Lease = 7;

    [Fact]
    public void A_keep_alive_after_the_ttl_ran_out_at_the_leader_is_answered_not_found_at_once_and_the_lease_then_ends()
    {
        var cluster = new DriverCluster(3, sessionsMax: 10);
        var leader = cluster.ElectLeader();
        var client = cluster.Register(leader, nonce: 5);
        var ttlSeconds = cluster[leader].LeaseTtlSecondsMin;
        Assert.Equal(KvStatus.Ok, cluster.Write(leader, KvCommand.GrantLease(client, 1, Lease, ttlSeconds)).Result!.Status);
        for (var tick = 0; tick < 100 && !cluster[leader].LeasesServing; tick++)
        {
            cluster.TickAll();
        }

        Assert.True(cluster[leader].LeasesServing, "the leader never started measuring leases (its epoch was not applied)");

        // Before the deadline: "kept alive", but only once a quorum confirmed the ballot.
        var kept = new RecordingAnswer<LeaseOutcome>();
        cluster[leader].KeepAlive(Lease, kept);
        cluster[leader].Process();
        Assert.Equal(0, kept.Answers);
        cluster.Deliver();
        Assert.True(kept.Result is { Found: true }, $"the keep-alive was answered {kept.Result} / {kept.Failure}");

        // From now on no Accept arrives: heartbeats keep the leader, but nothing more is chosen, so the expiry the
        // leader proposes once the TTL has run out waits in the log unchosen.
        cluster.Drop = message => message is Accept;
        cluster.TickAll((int)(ttlSeconds * 100) + 30);
        Assert.Equal(leader, cluster.Leader);
        Assert.True(cluster[leader].Kv.TryGetLease(Lease, out _, out _), "the lease ended although its expiry could not be chosen");

        var late = new RecordingAnswer<LeaseOutcome>();
        cluster[leader].KeepAlive(Lease, late);
        Assert.Equal(1, late.Answers);
        Assert.False(late.Result!.Found, "a keep-alive after the TTL ran out was answered 'kept alive'");

        cluster.Drop = null;
        cluster.TickAll(30);
        Assert.False(cluster[leader].Kv.TryGetLease(Lease, out _, out _), "the expiry did not end the lease once it could be chosen");
    }
}
