using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>
/// <see cref="KvStateMachine.DataBytes"/>, the count the write quota is judged against: kept up to date by every way a
/// key changes, and the same on a replica that restored a snapshot as on one that applied the log.
/// </summary>
public sealed class KvDataBytesTests
{
    private static long Recount(KvStateMachine machine) =>
        machine.Range(new KvRange([], [])).Entries.Sum(kv =>
            KvStateMachine.EntryBytes(kv.Key.Length, kv.Entry.Value.Length) + (machine.LeaseOf(kv.Key) != 0 ? kv.Key.Length + 2 : 0));

    [Fact]
    public void A_leased_key_counts_its_key_once_more_and_a_transaction_counts_its_deletes_in_order()
    {
        var machine = WithClients(1);
        Apply(machine, KvCommand.GrantLease(1, 1, 7, 60).Encode());
        var leased = new KvCommand(1, 2, KvOperation.Put, Bytes("lk"), Bytes("vv")) { Lease = 7 };
        Assert.Equal(2 + 2 + KvStateMachine.KeyOverheadBytes + 2 + 2, machine.GrowthOf(leased));
        Apply(machine, leased.Encode());
        Assert.Equal(2 + 2 + KvStateMachine.KeyOverheadBytes + 2 + 2, machine.DataBytes);

        // A move: delete "lk", put "nk" of the same size without a lease: smaller by the lease's count of the key (with
        // an empty other branch, the larger growth is that branch's 0: a move is taken at the quota).
        KvTxnOp[] moveOps = [KvTxnOp.Delete(Bytes("lk")), KvTxnOp.Put(Bytes("nk"), Bytes("vv"))];
        Assert.Equal(-4, machine.GrowthOf(new KvCommand(1, 3, KvOperation.Txn, [], []) { Txn = new KvTxn([], moveOps, moveOps) }));
        Assert.Equal(0, machine.GrowthOf(new KvCommand(1, 3, KvOperation.Txn, [], []) { Txn = new KvTxn([], moveOps, []) }));

        // A key put twice in one branch counts once; the larger branch counts.
        var twice = new KvCommand(1, 3, KvOperation.Txn, [], []) { Txn = new KvTxn([], [KvTxnOp.Put(Bytes("a"), Bytes("12")), KvTxnOp.Put(Bytes("a"), Bytes("1234"))], [KvTxnOp.Put(Bytes("b"), Bytes("1"))]) };
        Assert.Equal(1 + 4 + KvStateMachine.KeyOverheadBytes, machine.GrowthOf(twice));

        Apply(machine, KvCommand.RevokeLease(1, 4, 7).Encode());
        Assert.Equal(0, machine.DataBytes);
    }

    [Fact]
    public void The_count_is_every_key_and_value_plus_the_per_key_overhead_through_puts_overwrites_and_deletes()
    {
        var machine = WithClients(1);
        Assert.Equal(0, machine.DataBytes);

        Apply(machine, Put(1, 1, "abc", "12345"));
        Assert.Equal(3 + 5 + KvStateMachine.KeyOverheadBytes, machine.DataBytes);

        Apply(machine, Put(1, 2, "abc", "1"));
        Assert.Equal(3 + 1 + KvStateMachine.KeyOverheadBytes, machine.DataBytes);

        Apply(machine, Delete(1, 3, "abc"));
        Assert.Equal(0, machine.DataBytes);
    }

    /// <summary>
    /// Thousands of random puts, conditional puts, deletes, transactions and lease revokes, some while a background
    /// snapshot is taken: the running count always equals a count from scratch, and a restored copy counts the same.
    /// </summary>
    [Fact]
    public void The_running_count_matches_a_count_from_scratch_through_every_kind_of_write_and_a_restore()
    {
        var random = new Random(2026);
        var machine = WithClients(1);
        ulong sequence = 0;
        long nextLease = 1;
        string Key() => $"k/{random.Next(500):D3}";
        string Value() => new('v', random.Next(0, 300));
        KvSnapshotJob? job = null;
        for (var step = 0; step < 6_000; step++)
        {
            var command = random.Next(7) switch
            {
                0 => Delete(1, ++sequence, Key()),
                1 => PutIf(1, ++sequence, Key(), Value(), KvCondition.Absent),
                2 => Txn(1, ++sequence, new KvTxn([], [KvTxnOp.Put(Bytes(Key()), Bytes(Value())), KvTxnOp.Delete(Bytes(Key())), KvTxnOp.Put(Bytes(Key()), Bytes(Value()))], [])),
                3 => KvCommand.GrantLease(1, ++sequence, nextLease++, 60).Encode(),
                4 when nextLease > 1 => new KvCommand(1, ++sequence, KvOperation.Put, Bytes(Key()), Bytes(Value())) { Lease = random.NextInt64(1, nextLease) }.Encode(),
                5 when nextLease > 1 => KvCommand.RevokeLease(1, ++sequence, random.NextInt64(1, nextLease)).Encode(),
                _ => Put(1, ++sequence, Key(), Value()),
            };
            Apply(machine, command);

            if (step % 500 == 100)
            {
                job = machine.BeginSnapshot();
            }
            else if (step % 500 == 400 && job is not null)
            {
                job.Serialize();
                machine.EndSnapshot(job);
                job = null;
            }

            if (step % 250 == 0)
            {
                Assert.Equal(Recount(machine), machine.DataBytes);
            }
        }

        if (job is not null)
        {
            machine.EndSnapshot(job);
        }

        Assert.True(machine.Count > 100, $"the run should leave keys to count; it left {machine.Count}");
        Assert.Equal(Recount(machine), machine.DataBytes);
        Assert.Equal(machine.DataBytes, KvStateMachine.Restore(machine.Snapshot()).DataBytes);
    }
}
