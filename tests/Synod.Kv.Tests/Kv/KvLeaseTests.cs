using Synod.Kv;
using Xunit;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>Leases in the state machine: grant, attach, revoke and expiry at one revision, the epoch rule, snapshots.</summary>
public sealed class KvLeaseTests
{
    private static readonly KvEpoch Old = new(3, 1);
    private static readonly KvEpoch New = new(4, 2);

    private static byte[] Grant(ulong sequence, long id, long ttl = 10) => KvCommand.GrantLease(1, sequence, id, ttl).Encode();

    private static byte[] PutWithLease(ulong sequence, string key, long lease) =>
        new KvCommand(1, sequence, KvOperation.Put, Bytes(key), Bytes("v")) { Lease = lease }.Encode();

    private static AppliedCommand Apply(KvStateMachine machine, byte[] command) => machine.ApplySlot(machine.AppliedSlot + 1, [command])[0];

    [Fact]
    public void Revoking_a_lease_deletes_its_keys_at_one_revision_seen_as_delete_events()
    {
        var machine = WithClients(1);
        Assert.Equal(KvStatus.Ok, Apply(machine, Grant(1, 7)).Status);
        Apply(machine, PutWithLease(2, "a", 7));
        Apply(machine, PutWithLease(3, "b", 7));
        Apply(machine, Put(1, 4, "c", "not leased"));
        var before = machine.Revision;

        var revoked = Apply(machine, KvCommand.RevokeLease(1, 5, 7).Encode());

        Assert.Equal(KvStatus.Ok, revoked.Status);
        Assert.Equal(before + 1, machine.Revision);
        Assert.False(machine.TryGet(Bytes("a"), out _));
        Assert.False(machine.TryGet(Bytes("b"), out _));
        Assert.True(machine.TryGet(Bytes("c"), out _));
        var events = new List<KvEvent>();
        machine.EventsFrom(before + 1, KvRange.Prefix([]), events, 100);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(before + 1, e.Revision));
        Assert.All(events, e => Assert.Null(e.Entry));
        Assert.Equal(0, machine.LeaseCount);
    }

    [Fact]
    public void A_put_naming_a_missing_lease_changes_nothing()
    {
        var machine = WithClients(1);
        var answer = Apply(machine, PutWithLease(1, "a", 99));
        Assert.Equal(KvStatus.LeaseNotFound, answer.Status);
        Assert.False(machine.TryGet(Bytes("a"), out _));
        Assert.Equal(0, machine.Revision);
    }

    [Fact]
    public void A_transaction_whose_branch_puts_under_a_missing_lease_applies_nothing_of_it()
    {
        var machine = WithClients(1);
        Apply(machine, Grant(1, 5));
        var txn = new KvTxn([], [KvTxnOp.Put(Bytes("x"), Bytes("1"), 5), KvTxnOp.Put(Bytes("y"), Bytes("2"), 6)], []);
        Assert.Equal(KvStatus.LeaseNotFound, Apply(machine, Txn(1, 2, txn)).Status);
        Assert.False(machine.TryGet(Bytes("x"), out _));

        var good = new KvTxn([], [KvTxnOp.Put(Bytes("x"), Bytes("1"), 5), KvTxnOp.Put(Bytes("y"), Bytes("2"))], []);
        Assert.Equal(KvStatus.Ok, Apply(machine, Txn(1, 3, good)).Status);
        Assert.Equal(5, machine.LeaseOf(Bytes("x")));
        Assert.Equal(0, machine.LeaseOf(Bytes("y")));
    }

    [Fact]
    public void A_put_without_a_lease_detaches_the_key_and_a_delete_takes_it_out_of_the_lease()
    {
        var machine = WithClients(1);
        Apply(machine, Grant(1, 5));
        Apply(machine, PutWithLease(2, "a", 5));
        Apply(machine, PutWithLease(3, "b", 5));
        Apply(machine, Put(1, 4, "a", "now plain"));
        Apply(machine, Delete(1, 5, "b"));
        Apply(machine, KvCommand.RevokeLease(1, 6, 5).Encode());
        Assert.True(machine.TryGet(Bytes("a"), out _));
    }

    [Fact]
    public void An_expiry_counts_only_under_the_last_epoch_applied()
    {
        var machine = WithClients(1);
        Apply(machine, KvCommand.LeaderEpochOf(Old).Encode());
        Apply(machine, Grant(1, 5));
        var granted = machine.AppliedSlot;
        Apply(machine, PutWithLease(2, "a", 5));

        // The new leader's epoch is applied; the deposed leader's expiry, forwarded or re-proposed, arrives after it.
        Apply(machine, KvCommand.LeaderEpochOf(New).Encode());
        Apply(machine, KvCommand.ExpireLease(5, granted, Old).Encode());
        Assert.Equal(1, machine.LeaseCount);
        Assert.True(machine.TryGet(Bytes("a"), out _));

        // An older epoch applied late does not move the epoch back.
        Apply(machine, KvCommand.LeaderEpochOf(Old).Encode());
        Assert.Equal(New, machine.LeaseEpoch);

        Apply(machine, KvCommand.ExpireLease(5, granted, New).Encode());
        Assert.Equal(0, machine.LeaseCount);
        Assert.False(machine.TryGet(Bytes("a"), out _));
    }

    [Fact]
    public void An_expiry_of_an_earlier_grant_of_the_same_id_leaves_the_lease_granted_again_alone()
    {
        var machine = WithClients(1);
        Apply(machine, KvCommand.LeaderEpochOf(New).Encode());
        Apply(machine, Grant(1, 5));
        var first = machine.AppliedSlot;
        Apply(machine, KvCommand.RevokeLease(1, 2, 5).Encode());
        Apply(machine, Grant(3, 5));
        Apply(machine, PutWithLease(4, "a", 5));

        // The leader measured the first grant and proposed its expiry; it lands after the id was granted again.
        Apply(machine, KvCommand.ExpireLease(5, first, New).Encode());
        Assert.Equal(1, machine.LeaseCount);
        Assert.True(machine.TryGet(Bytes("a"), out _));
        Assert.Equal(machine.AppliedSlot - 2, machine.LeaseGrantSlot(5));
    }

    [Fact]
    public void Without_the_epoch_rule_a_deposed_leaders_expiry_ends_a_lease_the_new_leader_measures()
    {
        // The bug switch proves the test above can fail: the same schedule, and the lease ends.
        var machine = WithClients(1, bugs: KvBugs.ExpiryIgnoresEpoch);
        Apply(machine, KvCommand.LeaderEpochOf(Old).Encode());
        Apply(machine, Grant(1, 5));
        var granted = machine.AppliedSlot;
        Apply(machine, KvCommand.LeaderEpochOf(New).Encode());
        Apply(machine, KvCommand.ExpireLease(5, granted, Old).Encode());
        Assert.Equal(0, machine.LeaseCount);
    }

    [Fact]
    public void A_granted_id_is_refused_a_second_time_and_a_retry_is_answered_from_the_session()
    {
        var machine = WithClients(2);
        Assert.Equal(KvStatus.Ok, Apply(machine, Grant(1, 5)).Status);
        var retry = Apply(machine, Grant(1, 5));
        Assert.True(retry.Duplicate);
        Assert.Equal(KvStatus.Ok, retry.Status);
        Assert.Equal(KvStatus.LeaseExists, Apply(machine, KvCommand.GrantLease(2, 1, 5, 10).Encode()).Status);
    }

    [Fact]
    public void Leases_survive_a_snapshot_and_a_background_snapshot_byte_for_byte()
    {
        var machine = WithClients(1);
        Apply(machine, KvCommand.LeaderEpochOf(New).Encode());
        Apply(machine, Grant(1, 5, ttl: 30));
        Apply(machine, Grant(2, 9, ttl: 60));
        Apply(machine, PutWithLease(3, "b", 5));
        Apply(machine, PutWithLease(4, "a", 5));
        Apply(machine, PutWithLease(5, "z", 9));

        var job = machine.BeginSnapshot();
        Apply(machine, KvCommand.RevokeLease(1, 6, 9).Encode()); // meanwhile: not in the snapshot
        var background = job.Serialize();
        machine.EndSnapshot(job);

        var restored = KvStateMachine.Restore(background);
        Assert.Equal(New, restored.LeaseEpoch);
        Assert.Equal([(5L, 30L), (9L, 60L)], restored.Leases().ToArray());
        Assert.True(restored.TryGetLease(5, out _, out var keys));
        Assert.Equal(["a", "b"], keys.Select(k => System.Text.Encoding.UTF8.GetString(k)));
        Assert.Equal(9, restored.LeaseOf(Bytes("z")));

        var now = KvStateMachine.Restore(machine.Snapshot());
        Assert.Equal(machine.ContentHash(), now.ContentHash());
        Assert.Equal(1, now.LeaseCount);
        Assert.False(now.TryGet(Bytes("z"), out _));
    }

    [Fact]
    public void A_snapshot_attaching_a_key_it_does_not_hold_to_a_lease_is_refused()
    {
        var machine = WithClients(1);
        Apply(machine, Grant(1, 5));
        Apply(machine, PutWithLease(2, "a", 5));
        var snapshot = machine.Snapshot();

        // The lease section ends with the key "a" (length 1, then 'a'); make it "b", which the snapshot does not hold.
        Assert.Equal((byte)'a', snapshot[^1]);
        snapshot[^1] = (byte)'b';
        Reseal(snapshot);
        var refused = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("absent from the snapshot's keys", refused.Message);
    }

    [Fact]
    public void A_lease_holds_at_most_LeaseKeysMax_keys_and_a_write_past_it_changes_nothing()
    {
        var machine = WithClients(1);
        Apply(machine, Grant(1, 5));
        ulong sequence = 1;
        machine.ApplySlot(machine.AppliedSlot + 1, [.. Enumerable.Range(0, KvLimits.LeaseKeysMax).Select(i => PutWithLease(++sequence, $"k{i}", 5))]);
        Assert.True(machine.TryGetLease(5, out _, out var keys));
        Assert.Equal(KvLimits.LeaseKeysMax, keys.Count);

        Assert.Equal(KvStatus.LeaseKeysFull, Apply(machine, PutWithLease(++sequence, "one-more", 5)).Status);
        Assert.False(machine.TryGet(Bytes("one-more"), out _));
        var txn = new KvTxn([], [KvTxnOp.Put(Bytes("k0"), Bytes("again"), 5), KvTxnOp.Put(Bytes("another"), Bytes("x"), 5)], []);
        Assert.Equal(KvStatus.LeaseKeysFull, Apply(machine, Txn(1, ++sequence, txn)).Status);
        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(machine.TryGet(Bytes("k0"), out var value) ? value.Span : []));

        // A key the lease holds already is written again under it.
        Assert.Equal(KvStatus.Ok, Apply(machine, PutWithLease(++sequence, "k0", 5)).Status);
    }

    [Fact]
    public void Commands_without_leases_keep_the_encoding_of_the_build_before_them()
    {
        Assert.Equal(KvCommand.FormatVersion, Put(1, 1, "k", "v")[0]);
        Assert.Equal(KvCommand.FormatVersionLeases, PutWithLease(1, "k", 5)[0]);
        var decoded = KvCommand.Decode(PutWithLease(1, "k", 5));
        Assert.Equal(5, decoded.Lease);
        var txn = KvCommand.Decode(Txn(1, 2, new KvTxn([], [KvTxnOp.Put(Bytes("x"), Bytes("1"), 7)], [])));
        Assert.Equal(7, txn.Txn!.Success[0].Lease);
    }

    private static void Reseal(byte[] snapshot)
    {
        var body = snapshot.AsSpan(17);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(snapshot.AsSpan(13), System.IO.Hashing.Crc32.HashToUInt32(System.IO.Hashing.Crc32ParameterSet.Crc32C, body));
    }
}
