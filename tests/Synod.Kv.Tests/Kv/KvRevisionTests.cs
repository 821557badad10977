using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>
/// Revisions and conditional writes (docs/api.md): one revision per change, each key's create and mod revisions and
/// version, and a compare evaluated when the write is applied, in log order.
/// </summary>
public sealed class KvRevisionTests
{
    private static KvCondition VersionIs(long version) => new(KvCompareTarget.Version, KvCompareOp.Equal, version, []);

    private static KvCondition ModRevisionIs(long revision) => new(KvCompareTarget.ModRevision, KvCompareOp.Equal, revision, []);

    private static KvCondition ValueIs(string value) => new(KvCompareTarget.Value, KvCompareOp.Equal, 0, Bytes(value));

    [Fact]
    public void Every_change_is_one_revision_and_a_key_counts_its_writes_since_it_was_created()
    {
        var machine = WithClients(1);

        Apply(machine, Put(1, 1, "k", "a"), Put(1, 2, "other", "o"), Put(1, 3, "k", "b"));
        Assert.True(machine.TryGetEntry(Bytes("k"), out var k));
        Assert.Equal((1L, 3L, 2L), (k.CreateRevision, k.ModRevision, k.Version));
        Assert.Equal(3, machine.Revision);

        // A delete of an absent key changes nothing, so it takes no revision; a delete that removes one does.
        Assert.Equal(3, Apply(machine, Delete(1, 4, "absent"))[0].Revision);
        Assert.Equal(4, Apply(machine, Delete(1, 5, "k"))[0].Revision);
        Assert.False(machine.TryGetEntry(Bytes("k"), out _));

        // Created again: a new life, from version 1.
        var again = Apply(machine, Put(1, 6, "k", "c"))[0];
        Assert.Equal(new KvEntry(Bytes("c"), 5, 5, 1), again.Entry);
        Assert.Equal(5, machine.Revision);
    }

    [Fact]
    public void A_failed_compare_changes_nothing_takes_no_revision_and_reports_the_key_as_it_stands()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k", "a"));

        var failed = Apply(machine, PutIf(1, 2, "k", "b", VersionIs(0)))[0];

        Assert.Equal(KvStatus.CompareFailed, failed.Status);
        Assert.Equal(new KvEntry(Bytes("a"), 1, 1, 1), failed.Entry);
        Assert.Equal(1, failed.Revision);
        Assert.Equal(1, machine.Revision);
        Assert.Equal("a", Get(machine, "k"));
    }

    [Theory]
    [InlineData(KvCompareTarget.Version, KvCompareOp.Equal, 2L, true)]
    [InlineData(KvCompareTarget.Version, KvCompareOp.NotEqual, 2L, false)]
    [InlineData(KvCompareTarget.Version, KvCompareOp.Less, 3L, true)]
    [InlineData(KvCompareTarget.Version, KvCompareOp.Greater, 2L, false)]
    [InlineData(KvCompareTarget.CreateRevision, KvCompareOp.Equal, 1L, true)]
    [InlineData(KvCompareTarget.ModRevision, KvCompareOp.Equal, 3L, true)]
    [InlineData(KvCompareTarget.ModRevision, KvCompareOp.Greater, 2L, true)]
    [InlineData(KvCompareTarget.ModRevision, KvCompareOp.Less, 3L, false)]
    public void Each_target_and_op_compares_the_key_when_the_write_is_applied(KvCompareTarget target, KvCompareOp op, long number, bool holds)
    {
        var machine = WithClients(1);
        // "k": created at 1, rewritten at 3 (version 2); "x" took revision 2.
        Apply(machine, Put(1, 1, "k", "a"), Put(1, 2, "x", "x"), Put(1, 3, "k", "b"));

        var result = Apply(machine, PutIf(1, 4, "k", "c", new KvCondition(target, op, number, [])))[0];

        Assert.Equal(holds ? KvStatus.Ok : KvStatus.CompareFailed, result.Status);
        Assert.Equal(holds ? "c" : "b", Get(machine, "k"));
    }

    [Fact]
    public void A_value_compare_is_bytewise_and_false_for_an_absent_key_whatever_the_op()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k", "b"));

        Assert.Equal(KvStatus.Ok, Apply(machine, PutIf(1, 2, "k", "c", ValueIs("b")))[0].Status);
        Assert.Equal(KvStatus.Ok, Apply(machine, PutIf(1, 3, "k", "d", new KvCondition(KvCompareTarget.Value, KvCompareOp.Greater, 0, Bytes("b"))))[0].Status);
        Assert.Equal(KvStatus.CompareFailed, Apply(machine, PutIf(1, 4, "k", "e", new KvCondition(KvCompareTarget.Value, KvCompareOp.Less, 0, Bytes("d"))))[0].Status);
        foreach (var op in Enum.GetValues<KvCompareOp>())
        {
            Assert.Equal(KvStatus.CompareFailed, Apply(machine, PutIf(1, 5 + (ulong)op, "absent", "v", new KvCondition(KvCompareTarget.Value, op, 0, Bytes("v"))))[0].Status);
        }
    }

    [Fact]
    public void Only_one_of_two_racing_compare_and_swaps_on_the_same_version_succeeds()
    {
        var machine = WithClients(2);
        Apply(machine, Put(1, 1, "lock", "free"));

        // Both read version 1 and try to take the lock; the log orders them, and the second sees version 2.
        var results = Apply(machine, PutIf(1, 2, "lock", "client-1", VersionIs(1)), PutIf(2, 1, "lock", "client-2", VersionIs(1)));

        Assert.Equal([KvStatus.Ok, KvStatus.CompareFailed], results.Select(r => r.Status));
        Assert.Equal("client-1", Get(machine, "lock"));
    }

    [Fact]
    public void A_retried_compare_and_swap_keeps_its_first_answer_even_when_the_compare_would_hold_now()
    {
        var machine = WithClients(2);
        Apply(machine, Put(1, 1, "k", "a"));
        Assert.Equal(KvStatus.CompareFailed, Apply(machine, PutIf(2, 1, "k", "mine", ModRevisionIs(9)))[0].Status);
        Apply(machine, Put(1, 2, "k", "b"), Put(1, 3, "k", "c"), Put(1, 4, "k", "d"), Put(1, 5, "k", "e"), Put(1, 6, "k", "f"),
            Put(1, 7, "k", "g"), Put(1, 8, "k", "h"), Put(1, 9, "k", "i"));
        Assert.True(machine.TryGetEntry(Bytes("k"), out var now));
        Assert.Equal(9, now.ModRevision);

        var retry = Apply(machine, PutIf(2, 1, "k", "mine", ModRevisionIs(9)))[0];

        Assert.Equal((KvStatus.CompareFailed, true), (retry.Status, retry.Duplicate));
        Assert.Equal("i", Get(machine, "k"));
    }

    [Fact]
    public void A_conditional_delete_removes_the_key_only_if_its_compare_holds()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k", "a"));

        Assert.Equal(KvStatus.CompareFailed, Apply(machine, DeleteIf(1, 2, "k", ModRevisionIs(7)))[0].Status);
        Assert.Equal("a", Get(machine, "k"));
        Assert.Equal(KvStatus.Ok, Apply(machine, DeleteIf(1, 3, "k", ModRevisionIs(1)))[0].Status);
        Assert.Null(Get(machine, "k"));
    }

    [Fact]
    public void Revisions_and_a_failed_compares_session_survive_a_snapshot()
    {
        var machine = WithClients(2);
        Apply(machine, Put(1, 1, "k", "a"), Put(1, 2, "k", "b"), Delete(1, 3, "k"), Put(1, 4, "k", "c"));
        Apply(machine, PutIf(2, 1, "k", "x", VersionIs(5)));

        var restored = KvStateMachine.Restore(machine.Snapshot());

        Assert.Equal(machine.ContentHash(), restored.ContentHash());
        Assert.Equal(machine.Revision, restored.Revision);
        Assert.True(restored.TryGetEntry(Bytes("k"), out var entry));
        Assert.Equal(new KvEntry(Bytes("c"), 4, 4, 1), entry);
        var retry = Apply(restored, PutIf(2, 1, "k", "x", VersionIs(1)))[0];
        Assert.Equal((KvStatus.CompareFailed, true, 4L), (retry.Status, retry.Duplicate, retry.Revision));
    }

    [Fact]
    public void The_content_hash_tells_replicas_apart_that_differ_only_in_a_keys_revisions()
    {
        var once = WithClients(1);
        Apply(once, Put(1, 1, "k", "v"));
        var twice = WithClients(1);
        Apply(twice, Put(1, 1, "k", "v"), Put(1, 2, "k", "v"));

        Assert.Equal(Get(once, "k"), Get(twice, "k"));
        Assert.NotEqual(once.ContentHash(), twice.ContentHash());
    }

    [Theory]
    [InlineData(KvBugs.None)]
    [InlineData(KvBugs.RevisionsStartAtRestore)]
    public void Replicas_upgraded_in_place_number_revisions_alike_whatever_old_snapshot_each_restored(KvBugs bugs)
    {
        // Found by a cold review: numbering keys when an old snapshot is restored gave each replica its own revisions
        // (each took its old snapshots at its own slots), and a compare on a revision then split their values.
        // The log, as a build before revisions wrote it: 1 registers client 1; 2 a=1; 3 b=1; 4 a=2.
        byte[][][] log =
        [
            [RegisterBeforeRevisions(1)],
            [PutBeforeRevisions(1, 1, "a", "1")],
            [PutBeforeRevisions(1, 2, "b", "1")],
            [PutBeforeRevisions(1, 3, "a", "2")],
        ];
        var a = KvStateMachine.Restore(OldFormatSnapshot(log, upTo: 2), bugs: bugs);
        a.ApplySlot(3, log[2]);
        a.ApplySlot(4, log[3]);
        var b = KvStateMachine.Restore(OldFormatSnapshot(log, upTo: 4), bugs: bugs);
        var c = new KvStateMachine(bugs: bugs);
        for (var slot = 1; slot <= log.Length; slot++)
        {
            c.ApplySlot(slot, log[slot - 1]);
        }

        if (bugs == KvBugs.RevisionsStartAtRestore)
        {
            // The schedule the review found: a and b number "a" differently, and the same compare splits them.
            var split = PutIf(1, 4, "a", "3", ModRevisionIs(3));
            Assert.NotEqual(a.ApplySlot(5, [split])[0].Status, b.ApplySlot(5, [split])[0].Status);
            Assert.NotEqual(Get(a, "a"), Get(b, "a"));
            return;
        }

        Assert.All([a, b, c], machine => Assert.False(machine.RevisionsStarted));

        // Slot 5, the first command of this build: revisions start here on every replica (a=1, b=2), then it applies.
        var first = PutIf(1, 4, "a", "3", ModRevisionIs(1));
        var answers = new[] { a, b, c }.Select(machine => machine.ApplySlot(5, [first])[0]).ToList();

        Assert.All(answers, answer => Assert.Equal((KvStatus.Ok, 3L), (answer.Status, answer.Revision)));
        Assert.Equal(a.ContentHash(), b.ContentHash());
        Assert.Equal(a.ContentHash(), c.ContentHash());
        Assert.Equal(a.Snapshot(), b.Snapshot());
        Assert.Equal(a.Snapshot(), c.Snapshot());
    }

    [Fact]
    public void A_retried_failed_compare_answers_the_key_fields_of_its_first_answer()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "leader", "other"));
        var first = Apply(machine, PutIf(1, 2, "leader", "me", KvCondition.Absent))[0];

        var retry = Apply(machine, PutIf(1, 2, "leader", "me", KvCondition.Absent))[0];

        Assert.Equal((KvStatus.CompareFailed, true), (retry.Status, retry.Duplicate));
        Assert.Equal((first.Entry!.Value.ModRevision, first.Entry!.Value.Version), (retry.Entry!.Value.ModRevision, retry.Entry!.Value.Version));
        var restored = KvStateMachine.Restore(machine.Snapshot());
        Assert.Equal(retry.Entry, Apply(restored, PutIf(1, 2, "leader", "me", KvCondition.Absent))[0].Entry);
    }

    [Fact]
    public void A_condition_shares_ValueBytesMax_with_the_value_it_guards()
    {
        var half = new byte[(KvLimits.ValueBytesMax / 2) + 1];
        var command = new KvCommand(1, 1, KvOperation.Put, [1], half) { Condition = new KvCondition(KvCompareTarget.Value, KvCompareOp.Equal, 0, half) };

        Assert.Contains("together are over ValueBytesMax", command.Validate(), StringComparison.Ordinal);
    }

    /// <summary>The state after <paramref name="upTo"/> slots of <paramref name="log"/>, as a build before revisions wrote its snapshot (format 2).</summary>
    private static byte[] OldFormatSnapshot(byte[][][] log, int upTo)
    {
        var machine = new KvStateMachine();
        for (var slot = 1; slot <= upTo; slot++)
        {
            machine.ApplySlot(slot, log[slot - 1]);
        }

        return KvSnapshotFormats.Format2(machine.Snapshot());
    }
}
