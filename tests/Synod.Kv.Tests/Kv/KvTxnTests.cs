using System.Text;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>Transactions in the state machine: compares, one branch, one revision, reads that see the branch's writes, exactly once.</summary>
public sealed class KvTxnTests
{
    private static KvCondition ValueIs(string value) => new(KvCompareTarget.Value, KvCompareOp.Equal, 0, Bytes(value));

    private static KvTxn Transfer(string expectFrom, string expectTo, string newFrom, string newTo) => new(
        [new KvTxnCompare(Bytes("acct/a"), ValueIs(expectFrom)), new KvTxnCompare(Bytes("acct/b"), ValueIs(expectTo))],
        [KvTxnOp.Put(Bytes("acct/a"), Bytes(newFrom)), KvTxnOp.Put(Bytes("acct/b"), Bytes(newTo)), KvTxnOp.Range(KvRange.Prefix(Bytes("acct/")))],
        [KvTxnOp.Get(Bytes("acct/a")), KvTxnOp.Get(Bytes("acct/b"))]);

    private static KvStateMachine Accounts()
    {
        var machine = WithClients(2);
        Apply(machine, Put(1, 1, "acct/a", "100"), Put(1, 2, "acct/b", "0"));
        return machine;
    }

    [Fact]
    public void A_transaction_whose_compares_hold_writes_every_key_at_one_revision_and_its_reads_see_its_writes()
    {
        var machine = Accounts();

        var applied = Apply(machine, Txn(2, 1, Transfer("100", "0", "60", "40")))[0];

        Assert.Equal((KvStatus.Ok, 3L), (applied.Status, applied.Revision));
        Assert.True(applied.Txn!.Succeeded);
        Assert.Equal(("60", "40"), (Get(machine, "acct/a"), Get(machine, "acct/b")));
        Assert.True(machine.TryGetEntry(Bytes("acct/a"), out var a));
        Assert.True(machine.TryGetEntry(Bytes("acct/b"), out var b));
        Assert.Equal((3L, 3L, 2L), (a.ModRevision, b.ModRevision, b.Version));
        var range = applied.Txn.Results[2].Range!;
        Assert.Equal(["60", "40"], range.Entries.Select(kv => Encoding.UTF8.GetString(kv.Entry.Value.Span)));
    }

    [Fact]
    public void A_transaction_whose_compare_fails_runs_its_failure_branch_changes_nothing_and_takes_no_revision()
    {
        var machine = Accounts();

        var applied = Apply(machine, Txn(2, 1, Transfer("999", "0", "60", "40")))[0];

        Assert.Equal((KvStatus.CompareFailed, 2L), (applied.Status, applied.Revision));
        Assert.False(applied.Txn!.Succeeded);
        Assert.Equal(["100", "0"], applied.Txn.Results.Select(r => Encoding.UTF8.GetString(r.Entry!.Value.Value.Span)));
        Assert.Equal(("100", "0"), (Get(machine, "acct/a"), Get(machine, "acct/b")));
    }

    [Fact]
    public void A_retried_transaction_is_applied_once_and_answered_with_its_branch_and_revision()
    {
        var machine = Accounts();
        Apply(machine, Txn(2, 1, Transfer("100", "0", "60", "40")));
        Apply(machine, Put(1, 3, "acct/a", "100"));

        var retry = Apply(machine, Txn(2, 1, Transfer("100", "0", "60", "40")))[0];

        Assert.Equal((KvStatus.Ok, true, 3L), (retry.Status, retry.Duplicate, retry.Revision));
        Assert.Null(retry.Txn);
        Assert.Equal(("100", "40"), (Get(machine, "acct/a"), Get(machine, "acct/b")));
    }

    [Fact]
    public void A_delete_in_a_transaction_says_whether_the_key_existed_and_a_transaction_that_changes_nothing_takes_no_revision()
    {
        var machine = Accounts();
        var noop = new KvTxn([], [KvTxnOp.Delete(Bytes("absent")), KvTxnOp.Get(Bytes("acct/a"))], []);

        var applied = Apply(machine, Txn(2, 1, noop))[0];

        Assert.Equal((KvStatus.Ok, 2L), (applied.Status, applied.Revision));
        Assert.False(applied.Txn!.Results[0].Existed);
        var delete = Apply(machine, Txn(2, 2, new KvTxn([], [KvTxnOp.Delete(Bytes("acct/b"))], [])))[0];
        Assert.True(delete.Txn!.Results[0].Existed);
        Assert.Equal(3, delete.Revision);
        Assert.Null(Get(machine, "acct/b"));
    }

    [Fact]
    public void A_transaction_round_trips_through_its_encoding_and_a_snapshot()
    {
        var command = new KvCommand(5, 7, KvOperation.Txn, [], []) { Txn = Transfer("1", "2", "3", "4") };

        var decoded = KvCommand.Decode(command.Encode());

        Assert.Equal(command, decoded);
        var machine = Accounts();
        Apply(machine, command.Encode());
        var restored = KvStateMachine.Restore(machine.Snapshot());
        Assert.Equal(machine.ContentHash(), restored.ContentHash());
    }

    [Fact]
    public void A_transaction_that_writes_a_key_twice_or_is_over_a_limit_is_refused_with_a_sentence_naming_it()
    {
        var twice = new KvTxn([], [KvTxnOp.Put(Bytes("k"), Bytes("1")), KvTxnOp.Delete(Bytes("k"))], []);
        Assert.Contains("writes one key twice", twice.Problem(), StringComparison.Ordinal);

        var many = new KvTxn([], [.. Enumerable.Range(0, KvLimits.TxnOpsMax + 1).Select(i => KvTxnOp.Get(Bytes($"k{i}")))], []);
        Assert.Contains("TxnOpsMax", many.Problem(), StringComparison.Ordinal);

        var big = new KvTxn([], [KvTxnOp.Put(Bytes("a"), new byte[KvLimits.ValueBytesMax]), KvTxnOp.Put(Bytes("b"), new byte[KvLimits.ValueBytesMax])], []);
        Assert.Contains("TxnBytesMax", big.Problem(), StringComparison.Ordinal);

        var machine = Accounts();
        Assert.Equal(KvStatus.Invalid, Apply(machine, Txn(2, 1, twice))[0].Status);
        Assert.Equal("100", Get(machine, "acct/a"));
    }

    [Fact]
    public void Two_transfers_that_read_the_same_balances_cannot_both_apply()
    {
        var machine = Accounts();

        var results = Apply(machine, Txn(1, 3, Transfer("100", "0", "70", "30")), Txn(2, 1, Transfer("100", "0", "50", "50")));

        Assert.Equal([KvStatus.Ok, KvStatus.CompareFailed], results.Select(r => r.Status));
        Assert.Equal(100, int.Parse(Get(machine, "acct/a")!) + int.Parse(Get(machine, "acct/b")!));
    }

    [Fact]
    public void The_reads_of_one_transaction_share_one_answers_bounds_and_a_get_names_its_key()
    {
        var machine = WithClients(1);
        var keys = Enumerable.Range(0, 12_000).Select(i => Put(1, (ulong)i + 1, $"k{i:D6}", "v")).ToArray();
        for (var start = 0; start < keys.Length; start += 1_000)
        {
            Apply(machine, keys[start..(start + 1_000)]);
        }

        var ranges = new KvTxn([], [KvTxnOp.Get(Bytes("k000001")), .. Enumerable.Range(0, 3).Select(_ => KvTxnOp.Range(KvRange.Prefix(Bytes("k"))))], []);
        var applied = Apply(machine, Txn(1, 20_000, ranges))[0];

        Assert.Equal(Bytes("k000001"), applied.Txn!.Results[0].Key);
        var returned = applied.Txn.Results.Skip(1).Select(r => r.Range!.Entries.Count).ToList();
        Assert.Equal(KvLimits.RangeKeysMax, returned.Sum());
        Assert.All(applied.Txn.Results.Skip(1), r => Assert.True(r.Range!.More));
    }
}
