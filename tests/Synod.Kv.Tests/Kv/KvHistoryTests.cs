using System.Text;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>
/// History and compaction (docs/api.md): reads at a past revision, the window's two bounds, the compact command, and
/// the window carried through snapshots. Each test checks what a user reading an old revision would see.
/// </summary>
public sealed class KvHistoryTests
{
    private static string? GetAt(KvStateMachine machine, string key, long revision) =>
        machine.TryGetEntryAt(Bytes(key), revision, out var entry) ? Encoding.UTF8.GetString(entry.Value.Span) : null;

    private static string[] RangeAt(KvStateMachine machine, string prefix, long revision) =>
        [.. machine.RangeAt(KvRange.Prefix(Bytes(prefix)), revision).Entries.Select(kv => $"{Encoding.UTF8.GetString(kv.Key)}={Encoding.UTF8.GetString(kv.Entry.Value.Span)}")];

    /// <summary>Revisions 1..5: a=1, b=1, a=2, delete b, c=1 (in that order).</summary>
    private static KvStateMachine FiveRevisions(KvHistoryLimits? history = null, KvBugs bugs = KvBugs.None)
    {
        var machine = WithClients(1, history: history, bugs: bugs);
        Apply(machine, Put(1, 1, "k/a", "1"));
        Apply(machine, Put(1, 2, "k/b", "1"));
        Apply(machine, Put(1, 3, "k/a", "2"));
        Apply(machine, Delete(1, 4, "k/b"));
        Apply(machine, Put(1, 5, "k/c", "1"));
        Assert.Equal(5, machine.Revision);
        return machine;
    }

    [Fact]
    public void A_read_at_a_past_revision_sees_the_keys_as_they_were_then()
    {
        var machine = FiveRevisions();

        Assert.Equal(["k/a=1"], RangeAt(machine, "k/", 1));
        Assert.Equal(["k/a=1", "k/b=1"], RangeAt(machine, "k/", 2));
        Assert.Equal(["k/a=2", "k/b=1"], RangeAt(machine, "k/", 3));
        Assert.Equal(["k/a=2"], RangeAt(machine, "k/", 4));
        Assert.Equal(["k/a=2", "k/c=1"], RangeAt(machine, "k/", 5));
        Assert.Equal(["k/a=2", "k/c=1"], RangeAt(machine, "k/", 0));
        Assert.Equal("1", GetAt(machine, "k/b", 3));
        Assert.Null(GetAt(machine, "k/b", 4));
        Assert.Null(GetAt(machine, "k/c", 4));
        Assert.True(machine.TryGetEntryAt(Bytes("k/a"), 2, out var then));
        Assert.Equal((1L, 1L, 1L), (then.CreateRevision, then.ModRevision, then.Version));
    }

    [Fact]
    public void A_count_and_a_limit_at_a_past_revision_count_the_keys_of_then()
    {
        var machine = FiveRevisions();

        var count = machine.RangeAt(KvRange.Prefix(Bytes("k/"), countOnly: true), 3);
        var limited = machine.RangeAt(KvRange.Prefix(Bytes("k/"), limit: 1), 3);

        Assert.Equal(2, count.Count);
        Assert.Equal((1, true), (limited.Entries.Count, limited.More));
    }

    [Fact]
    public void The_window_keeps_the_last_history_revisions_and_names_the_oldest_kept_when_refusing()
    {
        var machine = FiveRevisions(new KvHistoryLimits(Revisions: 2, Bytes: long.MaxValue));

        Assert.Equal(4, machine.CompactRevision);
        Assert.Null(machine.RevisionProblem(4, out _));
        Assert.Null(GetAt(machine, "k/b", 4));
        var problem = machine.RevisionProblem(3, out var compacted);
        Assert.True(compacted);
        Assert.Contains("revision 3 has been compacted: the oldest revision kept is 4", problem);
        Assert.Contains("in the future", machine.RevisionProblem(6, out compacted));
        Assert.False(compacted);
    }

    [Fact]
    public void The_window_stays_within_its_bytes_but_always_keeps_the_newest_revision()
    {
        var eventBytes = 3 + 1 + KvStateMachine.HistoryEventOverheadBytes;
        var machine = WithClients(1, history: new KvHistoryLimits(Revisions: 1_000, Bytes: 3 * eventBytes));
        for (ulong sequence = 1; sequence <= 10; sequence++)
        {
            Apply(machine, Put(1, sequence, $"k{sequence % 10}", "v"));
            Assert.True(machine.HistoryBytes <= 3 * eventBytes, $"history holds {machine.HistoryBytes} bytes after {sequence} puts");
        }

        Assert.Equal(3, machine.HistoryEventCount);
        Assert.Equal(8, machine.CompactRevision);

        var tiny = WithClients(1, history: new KvHistoryLimits(Revisions: 1_000, Bytes: 0));
        Apply(tiny, Put(1, 1, "big", new string('x', 1_000)));
        Assert.Equal((1, 1L), (tiny.HistoryEventCount, tiny.CompactRevision));
        Assert.Equal("x", GetAt(tiny, "big", 1)![..1]);
    }

    [Fact]
    public void Compact_moves_the_oldest_revision_kept_on_never_back_and_answers_a_retry_alike()
    {
        var machine = FiveRevisions();

        var first = Apply(machine, Compact(1, 6, 3))[0];
        var retry = Apply(machine, Compact(1, 6, 3))[0];
        Apply(machine, Compact(1, 7, 2));

        Assert.Equal((KvStatus.Ok, 3L), (first.Status, first.Revision));
        Assert.Equal((true, 3L), (retry.Duplicate, retry.Revision));
        Assert.Equal(3, machine.CompactRevision);
        Assert.Equal(5, machine.Revision);
        Assert.True(machine.RevisionProblem(2, out var compacted) is not null && compacted);
        Assert.Equal(["k/a=2", "k/b=1"], RangeAt(machine, "k/", 3));

        var future = Apply(machine, Compact(1, 8, 1_000))[0];
        Assert.Equal((KvStatus.RevisionInFuture, 5L), (future.Status, future.Revision));
        Assert.Equal(3, machine.CompactRevision);

        Apply(machine, Compact(1, 9, 5));
        Assert.Equal(5, machine.CompactRevision);
        Assert.Equal(["k/a=2", "k/c=1"], RangeAt(machine, "k/", 5));
    }

    [Fact]
    public void A_compact_command_out_of_range_is_invalid_and_changes_nothing()
    {
        var machine = FiveRevisions();
        var zero = new KvCommand(1, 6, KvOperation.Compact, [], new byte[8]).Encode();
        var shortValue = new KvCommand(1, 6, KvOperation.Compact, [], [1]).Encode();

        Assert.Equal(KvStatus.Invalid, Apply(machine, zero)[0].Status);
        Assert.Equal(KvStatus.Invalid, Apply(machine, shortValue)[0].Status);
        Assert.Equal(1, machine.CompactRevision);
    }

    [Fact]
    public void A_transactions_changes_share_its_revision_and_a_read_before_it_sees_none_of_them()
    {
        var machine = FiveRevisions();
        Apply(machine, Txn(1, 6, new KvTxn([], [KvTxnOp.Put(Bytes("k/a"), Bytes("3")), KvTxnOp.Delete(Bytes("k/c")), KvTxnOp.Put(Bytes("k/d"), Bytes("1"))], [])));

        var events = new List<KvEvent>();
        machine.EventsFrom(6, KvRange.Prefix(Bytes("k/")), events, eventsMax: 1);

        Assert.Equal(6, machine.Revision);
        Assert.Equal([6L, 6L, 6L], events.Select(e => e.Revision));
        Assert.Equal(["k/a=2", "k/c=1"], RangeAt(machine, "k/", 5));
        Assert.Equal(["k/a=3", "k/d=1"], RangeAt(machine, "k/", 6));
    }

    [Fact]
    public void Events_from_a_revision_come_in_order_with_the_previous_entry_and_stop_on_a_revision_boundary()
    {
        var machine = FiveRevisions();

        var events = new List<KvEvent>();
        var next = machine.EventsFrom(2, KvRange.Prefix(Bytes("k/")), events, eventsMax: 2);

        Assert.Equal([2L, 3L], events.Select(e => e.Revision));
        Assert.Equal(4, next);
        Assert.Equal("1", Encoding.UTF8.GetString(events[1].Previous!.Value.Value.Span));
        events.Clear();
        Assert.Equal(6, machine.EventsFrom(4, KvRange.Prefix(Bytes("k/")), events, eventsMax: 100));
        Assert.True(events[0].IsDelete);
        Assert.Equal("k/c", Encoding.UTF8.GetString(events[1].Key));
    }

    [Fact]
    public void A_snapshot_carries_the_window_so_a_restored_replica_reads_the_past_alike()
    {
        var machine = FiveRevisions();
        Apply(machine, Compact(1, 6, 2));

        var restored = KvStateMachine.Restore(machine.Snapshot());

        Assert.Equal(machine.Snapshot(), restored.Snapshot());
        Assert.Equal(2, restored.CompactRevision);
        Assert.Equal(machine.HistoryBytes, restored.HistoryBytes);
        foreach (var revision in new long[] { 2, 3, 4, 5 })
        {
            Assert.Equal(RangeAt(machine, "k/", revision), RangeAt(restored, "k/", revision));
        }
    }

    [Fact]
    public void A_background_snapshot_holds_the_window_as_it_stood_at_its_begin()
    {
        var machine = FiveRevisions();
        var expected = machine.Snapshot();

        var job = machine.BeginSnapshot();
        Apply(machine, Put(1, 6, "k/e", "1"));
        Apply(machine, Compact(1, 7, 5));
        var bytes = job.Serialize();
        machine.EndSnapshot(job);

        Assert.Equal(expected, bytes);
        Assert.Equal(1, KvStateMachine.Restore(bytes).CompactRevision);
    }

    [Fact]
    public void A_replica_with_a_smaller_window_trims_what_a_snapshot_brings()
    {
        var machine = FiveRevisions();

        var restored = KvStateMachine.Restore(machine.Snapshot(), history: new KvHistoryLimits(Revisions: 2, Bytes: long.MaxValue));

        Assert.Equal(4, restored.CompactRevision);
        Assert.Equal(["k/a=2"], RangeAt(restored, "k/", 4));
    }

    [Fact]
    public void A_snapshot_whose_history_runs_backwards_is_refused()
    {
        var machine = FiveRevisions();
        var snapshot = machine.Snapshot();

        // Find the history's first change (revision 1, key "k/a") and make it revision 9, past the snapshot's revision.
        var body = snapshot.AsSpan(17);
        var at = body.IndexOf("\u0001\u0003k/a"u8);
        Assert.True(at > 0);
        body[at] = 9;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(
            snapshot.AsSpan(13), System.IO.Hashing.Crc32.HashToUInt32(System.IO.Hashing.Crc32ParameterSet.Crc32C, snapshot.AsSpan(17)));

        var refused = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("history change #0", refused.Message);
    }

    [Fact]
    public void The_history_bug_switch_answers_a_past_read_one_revision_early()
    {
        var machine = FiveRevisions(bugs: KvBugs.HistoryUndoesOneTooMany);

        Assert.Equal("1", GetAt(machine, "k/a", 3));
        Assert.Equal(["k/a=1", "k/b=1"], RangeAt(machine, "k/", 3));
    }
}
