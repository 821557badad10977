using System.Text;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// What the driver tells a waiting write, on real drivers and cores. Found by the simulator once it ran the shipped
/// driver (seed 2485 of `--seeds 1..10000`): a write applied in a slot that a waiting replica only learned through a
/// snapshot, whose session was evicted before a later copy of it was applied, was answered "session expired, not
/// applied" — and a client that believes it resends the write under a new id, applying it twice.
/// </summary>
public sealed class WriteOutcomeTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("k");
    private static readonly byte[] Value = Encoding.UTF8.GetBytes("v");

    [Fact]
    public void A_write_applied_out_of_sight_whose_session_then_went_is_answered_outcome_unknown_not_session_expired()
    {
        var cluster = new DriverCluster(3, sessionsMax: 1);
        var leader = cluster.ElectLeader();
        var waiting = leader == 1 ? 2 : 1;
        var client = cluster.Register(leader, nonce: 11);

        // The waiting replica proposes the write (it reaches the leader and is chosen) but hears nothing back.
        cluster.Deaf.Add(waiting);
        var put = new KvCommand(client, 1, KvOperation.Put, Key, Value);
        var first = cluster.Write(waiting, put);
        Assert.True(cluster[leader].Kv.TryGet(Key, out _), "the write should be applied on the leader");
        Assert.Equal(0, first.Answers);

        // Another client's registration evicts this client's session (one session kept); the others snapshot past it.
        cluster.Register(leader, nonce: 12);
        foreach (var id in new[] { 1, 2, 3 }.Where(id => id != waiting))
        {
            Assert.True(cluster[id].CompactNow());
            cluster.Deliver();
        }

        // The waiting replica hears again, learns the slots through a snapshot, and the client's retry joins the waiter:
        // its copy of the write is chosen and refused, the session being gone.
        cluster.Deaf.Remove(waiting);
        cluster.TickAll(30);
        Assert.True(cluster[waiting].Kv.TryGet(Key, out var applied), "the waiting replica should have caught up through the snapshot");
        Assert.Equal(Value, applied.ToArray());
        var retry = cluster.Write(waiting, put);
        cluster.TickAll(10);

        Assert.Equal(ReplicaFailure.WriteOutcomeUnknown, first.Failure);
        Assert.Equal(ReplicaFailure.WriteOutcomeUnknown, retry.Failure);
        Assert.Null(first.Result);
    }

    [Fact]
    public void A_write_whose_every_copy_the_replica_saw_applied_is_answered_with_the_first_result()
    {
        var cluster = new DriverCluster(3, sessionsMax: 1);
        var leader = cluster.ElectLeader();
        var waiting = leader == 1 ? 2 : 1;
        var client = cluster.Register(leader, nonce: 11);

        var answer = cluster.Write(waiting, new KvCommand(client, 1, KvOperation.Put, Key, Value));
        cluster.TickAll(5);

        Assert.Equal(KvStatus.Ok, answer.Result?.Status);
        Assert.Equal(1, answer.Answers);
    }

    [Fact]
    public void A_retry_at_a_replica_that_lost_its_leader_waits_with_the_copy_it_proposed_instead_of_hearing_nothing_was_proposed()
    {
        var cluster = new DriverCluster(3, sessionsMax: 4);
        var leader = cluster.ElectLeader();
        var waiting = leader == 1 ? 2 : 1;
        var client = cluster.Register(leader, nonce: 11);

        // The waiting replica proposes the write (it reaches the leader and is chosen there) but hears nothing back,
        // and then nothing at all for longer than an election timeout: it knows no live leader.
        cluster.Deaf.Add(waiting);
        var put = new KvCommand(client, 1, KvOperation.Put, Key, Value);
        var first = cluster.Write(waiting, put);
        Assert.True(cluster[leader].Kv.TryGet(Key, out _), "the write should be applied on the leader");
        cluster.Isolated.Add(waiting);
        cluster.TickAll(cluster[waiting].Core.Options.ElectionTimeoutTicks + 5);
        Assert.Equal(0, cluster[waiting].KnownLeaderId);

        // The client's retry: the copy proposed from here took effect, so "no leader, nothing was proposed" would be a lie.
        var retry = cluster.Write(waiting, put);
        Assert.Null(retry.Failure);

        // Once the replica hears again it learns the slot, and both attempts get the write's result.
        cluster.Isolated.Remove(waiting);
        cluster.Deaf.Remove(waiting);
        cluster.TickAll(30);
        Assert.Equal(KvStatus.Ok, first.Result?.Status);
        Assert.Equal(KvStatus.Ok, retry.Result?.Status);
    }

    [Fact]
    public void A_first_write_at_a_replica_that_knows_no_leader_is_refused_at_once_and_never_proposed()
    {
        var cluster = new DriverCluster(3, sessionsMax: 4);
        var leader = cluster.ElectLeader();
        var alone = leader == 1 ? 2 : 1;
        var client = cluster.Register(leader, nonce: 11);
        cluster.Isolated.Add(alone);
        cluster.TickAll(cluster[alone].Core.Options.ElectionTimeoutTicks + 5);

        var answer = cluster.Write(alone, new KvCommand(client, 1, KvOperation.Put, Key, Value));
        cluster.Isolated.Remove(alone);
        cluster.TickAll(30);

        Assert.Equal(ReplicaFailure.NoLeader, answer.Failure);
        Assert.False(cluster[leader].Kv.TryGet(Key, out _), "a write refused with 'no leader' must never take effect");
    }

    [Fact]
    public void A_registration_chosen_unseen_is_not_proposed_again_when_the_leader_changes()
    {
        // Found by a cold review of the driver: a registration waiting at a follower was proposed again at the leader
        // change although it had been chosen; both copies applied, a second client id was assigned, and another
        // client's session was evicted for it.
        var cluster = new DriverCluster(3, sessionsMax: 2);
        var leader = cluster.ElectLeader();
        var follower = leader == 1 ? 2 : 1;
        var other = 6 - leader - follower;
        var victim = cluster.Register(leader, nonce: 5);

        // The registration's slot is chosen (the leader and the third replica accept it), but no one learns so: the
        // leader's Commit and heartbeats are lost, and then it is cut off.
        cluster.Deaf.Add(follower);
        cluster.Drop = m => m.From == leader && m is not Synod.Core.Messages.Accept;
        var registration = cluster.Write(follower, new KvCommand(0, 77, KvOperation.Register, [], []));
        Assert.Null(registration.Result);
        var idsAssigned = cluster[leader].Kv.LastClientId;

        cluster.Isolated.Add(leader);
        cluster.Deaf.Remove(follower);
        cluster.TickAll(400);

        Assert.NotEqual(leader, cluster.Leader);
        Assert.Equal(idsAssigned, cluster[other].Kv.LastClientId);
        Assert.True(cluster[other].Kv.HasSession(victim), "no second registration may evict another client's session");
    }

    [Fact]
    public void A_write_that_waited_longer_than_WaiterTicksMax_is_dropped_and_not_proposed_again_at_the_next_leader_change()
    {
        // From the cold review of the driver: a request its shell never marked abandoned kept its write waiting, and the
        // write was proposed again at every later leader change, possibly hours after its client gave up.
        var cluster = new DriverCluster(3, sessionsMax: 4, o => o with { WaiterTicksMax = 100, WaiterCleanupEveryTicks = 10 });
        var leader = cluster.ElectLeader();
        var waiting = leader == 1 ? 2 : 1;
        var client = cluster.Register(leader, nonce: 11);

        // The write never leaves the waiting replica; its answer is never abandoned.
        cluster.Drop = m => m.From == waiting && m is Synod.Core.Messages.Forward;
        var answer = cluster.Write(waiting, new KvCommand(client, 1, KvOperation.Put, Key, Value));
        Assert.Equal(1, cluster[waiting].WritesWaiting);
        cluster.TickAll(120);
        Assert.Equal(0, cluster[waiting].WritesWaiting);

        // A new leader: the waiting replica has nothing left to propose again.
        cluster.Drop = null;
        cluster.Isolated.Add(leader);
        cluster.TickAll(400);
        Assert.NotEqual(leader, cluster.Leader);
        Assert.Equal(0, answer.Answers);
        Assert.False(cluster[waiting].Kv.TryGet(Key, out _), "a write dropped after WaiterTicksMax must not be proposed again");
    }

    [Fact]
    public void A_different_write_under_a_waiting_writes_client_id_and_sequence_is_refused_not_answered_with_its_outcome()
    {
        // From the cold review of authentication (H2): a request under another user's client id and sequence joined that
        // user's waiting transaction and was answered with its reads, values included.
        var cluster = new DriverCluster(3, sessionsMax: 16);
        var leader = cluster.ElectLeader();
        var waiting = leader == 1 ? 2 : 1;
        ulong RegisterAs(string user, ulong nonce) =>
            cluster.Write(leader, new KvCommand(0, nonce, KvOperation.Register, [], []) { User = user }).Result?.RegisteredClientId ?? throw new InvalidOperationException("not registered");
        var admin = RegisterAs("root", 1);
        var alice = RegisterAs("alice", 2);
        ulong sequence = 0;
        void Root(KvAuthChange change) =>
            Assert.Equal(KvStatus.Ok, cluster.Write(leader, KvCommand.ChangeAuth(admin, ++sequence, change, "root")).Result?.Status);
        Root(new(KvAuthChangeKind.UserAdd, Name: "root", SecretBytes: [1]));
        Root(new(KvAuthChangeKind.UserAdd, Name: "alice", SecretBytes: [1]));
        Root(new(KvAuthChangeKind.UserAdd, Name: "mallory", SecretBytes: [1]));
        Root(new(KvAuthChangeKind.RoleAdd, Role: "secrets"));
        Root(new(KvAuthChangeKind.RoleGrant, Role: "secrets", Permission: KvPermission.OnPrefix(KvPermissionKind.ReadWrite, Encoding.UTF8.GetBytes("secret/"))));
        Root(new(KvAuthChangeKind.UserGrantRole, Name: "alice", Role: "secrets"));
        Root(new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]));
        Assert.Equal(KvStatus.Ok, cluster.Write(leader, new KvCommand(admin, ++sequence, KvOperation.Put, Encoding.UTF8.GetBytes("secret/k"), Encoding.UTF8.GetBytes("TOPSECRET")) { User = "root" }).Result?.Status);

        cluster.Deaf.Add(waiting);
        var aliceTxn = new KvCommand(alice, 1, KvOperation.Txn, [], []) { Txn = new KvTxn([], [KvTxnOp.Get(Encoding.UTF8.GetBytes("secret/k"))], []), User = "alice" };
        var aliceAnswer = cluster.Write(waiting, aliceTxn);
        var malloryTxn = new KvCommand(alice, 1, KvOperation.Txn, [], []) { Txn = new KvTxn([], [KvTxnOp.Get(Encoding.UTF8.GetBytes("m/nothing"))], []), User = "mallory" };
        var malloryAnswer = cluster.Write(waiting, malloryTxn);
        cluster.Deaf.Remove(waiting);
        cluster.TickAll(20);

        Assert.Equal(ReplicaFailure.SequenceInUse, malloryAnswer.Failure);
        Assert.Null(malloryAnswer.Result);
        Assert.Equal("TOPSECRET", Encoding.UTF8.GetString(aliceAnswer.Result!.Txn!.Results[0].Entry!.Value.Value.Span));
    }
}
