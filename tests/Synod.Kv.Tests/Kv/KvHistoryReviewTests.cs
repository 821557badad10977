using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>
/// The cold review of history and compaction (d0695ad): each test is a schedule or input the review found, failing on
/// that commit, and the model check it used to show the rest is right (past reads, trimming, compaction, restores and
/// background snapshots against a brute-force model of every revision's state).
/// </summary>
public sealed class KvHistoryReviewTests
{
    private const int HeaderBytes = 17;

    // ---------- helpers ----------

    /// <summary>What the build before history (format 3: revisions, no history) wrote for the same state.</summary>
    private static byte[] Format3(byte[] format4) => KvSnapshotFormats.Format3(format4);

    private static void Reseal(byte[] snapshot) =>
        BinaryPrimitives.WriteUInt32LittleEndian(snapshot.AsSpan(13), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, snapshot.AsSpan(HeaderBytes)));

    // ---------- F1: format-3 restore makes the window depend on which snapshot a replica restored ----------

    [Fact]
    public void Upgraded_replicas_upgraded_from_format3_snapshots_taken_at_different_slots_end_with_identical_snapshots()
    {
        // The log the build before history wrote (its commands are version 2): slot 1 registers client 1, slots 2..13
        // each put one key (revision = slot - 1).
        var log = new List<byte[][]> { new[] { Register(1) } };
        for (ulong s = 1; s <= 12; s++)
        {
            var put = Put(1, s, $"k{s % 3}", $"v{s}");
            put[0] = KvCommand.FormatVersionBeforeHistory;
            log.Add([put]);
        }

        // That build (format 3) left replica B a snapshot at slot 4 and replica C one at slot 9.
        var old = new KvStateMachine();
        byte[]? atB = null, atC = null;
        for (var i = 0; i < log.Count; i++)
        {
            old.ApplySlot(i + 1, log[i]);
            if (i + 1 == 4) atB = Format3(old.Snapshot());
            if (i + 1 == 9) atC = Format3(old.Snapshot());
        }

        // Both are upgraded in place to this build, replay the rest of the log, and apply the first new writes.
        log.Add([Put(1, 13, "k0", "new")]);
        log.Add([Put(1, 14, "k1", "new")]);
        var b = KvStateMachine.Restore(atB!);
        for (var slot = 5; slot <= log.Count; slot++) b.ApplySlot(slot, log[slot - 1]);
        var c = KvStateMachine.Restore(atC!);
        for (var slot = 10; slot <= log.Count; slot++) c.ApplySlot(slot, log[slot - 1]);

        // History starts at the first new write on both, whatever snapshot each restored: the same window, the same bytes.
        Assert.Equal(b.ContentHash(), c.ContentHash());
        Assert.Equal(b.Revision, c.Revision);
        Assert.Equal(b.CompactRevision, c.CompactRevision);
        Assert.Equal(13, b.CompactRevision);
        Assert.Equal(b.RevisionProblem(5, out _), c.RevisionProblem(5, out _));
        Assert.Equal(b.Snapshot(), c.Snapshot());
    }

    // ---------- F2: compaction point past the revision: duplicate answers differ, refusal advises a future revision ----------

    [Fact]
    public void Compact_a_retried_compact_is_answered_as_the_first_time()
    {
        var machine = WithClients(1); // revisions started, revision 0, compact revision 1
        var first = Apply(machine, Compact(1, 1, 1))[0];
        var retry = Apply(machine, Compact(1, 1, 1))[0];

        Assert.True(retry.Duplicate);
        Assert.Equal(first.Revision, retry.Revision); // 1 vs 0
    }

    [Fact]
    public void Compact_after_revisions_start_a_retried_compact_is_answered_as_the_first_time()
    {
        // A log written before revisions: two keys; then a current-format compact starts revisions (revision 2,
        // compact revision 3) and asks for 2.
        var machine = new KvStateMachine();
        Apply(machine, RegisterBeforeRevisions(1));
        Apply(machine, PutBeforeRevisions(1, 1, "a", "x"));
        Apply(machine, PutBeforeRevisions(1, 2, "b", "y"));
        var first = Apply(machine, Compact(1, 3, 2))[0];
        var retry = Apply(machine, Compact(1, 3, 2))[0];

        Assert.Equal(2, machine.Revision);
        Assert.Equal(3, machine.CompactRevision);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Revision, retry.Revision); // 3 vs 2
    }

    [Fact]
    public void Refusal_the_oldest_revision_a_refusal_names_can_be_read()
    {
        var machine = new KvStateMachine();
        Apply(machine, RegisterBeforeRevisions(1));
        Apply(machine, PutBeforeRevisions(1, 1, "a", "x"));
        Apply(machine, PutBeforeRevisions(1, 2, "b", "y"));
        Apply(machine, Register(2)); // starts revisions: revision 2, compact revision 3

        var refusal = machine.RevisionProblem(1, out var compacted);
        Assert.True(compacted);

        // The refusal (and the server's advice, min(CompactRevision, Revision)) names a revision that can be read.
        Assert.Contains("the oldest revision kept is 2", refusal);
        Assert.Null(machine.RevisionProblem(Math.Min(machine.CompactRevision, machine.Revision), out _));
    }

    // ---------- F3: format-4 restore does not check that the window agrees with the keys ----------

    [Fact]
    public void Snapshot_a_snapshot_claiming_history_it_does_not_hold_is_refused()
    {
        var machine = new KvStateMachine();
        Apply(machine, RegisterBeforeRevisions(1));
        Apply(machine, PutBeforeRevisions(1, 1, "a", "x"));
        Apply(machine, PutBeforeRevisions(1, 2, "b", "y"));
        Apply(machine, Register(2)); // revision 2, compact revision 3, no changes kept
        var snapshot = machine.Snapshot();
        Assert.Equal([3, 0, 0, 0, 0], snapshot[^5..]); // compact revision 3, no changes; then no lease epoch and no leases

        snapshot[^5] = 1; // compact revision 1, still no changes: "every change since revision 1 is kept"
        Reseal(snapshot);

        var refused = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("keeps the changes from revision 1", refused.Message);
    }

    [Fact]
    public void Snapshot_a_snapshot_whose_changes_disagree_with_each_other_is_refused()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k/a", "1"));
        Apply(machine, Put(1, 2, "k/a", "2"));
        var snapshot = machine.Snapshot();
        var body = snapshot.AsSpan(HeaderBytes);

        // The change at revision 2: key k/a, flags 3, entry "2" (1,2,2), previous "1" (1,1,1). Make the previous "7".
        var at = body.IndexOf("\u0002\u0003k/a\u0003\u00012\u0001\u0002\u0002\u00011"u8);
        Assert.True(at > 0);
        body[at + 12] = (byte)'7';
        Reseal(snapshot);

        // Revision 1's change wrote "1"; revision 2's says it replaced "7".
        var refused = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("previous entry that is not what the change before it", refused.Message);
    }

    // ---------- F4: a range read at a past revision costs O(keys in the range), whatever its limit ----------

    [Fact]
    public void Page_a_one_key_page_at_a_past_revision_costs_in_proportion_to_the_page()
    {
        var machine = WithClients(1);
        ulong sequence = 0;
        for (var batch = 0; batch < 100; batch++)
        {
            Apply(machine, [.. Enumerable.Range(0, 2_000).Select(i => Put(1, ++sequence, $"key{batch:D3}{i:D5}", "v"))]);
        }

        var page = new KvRange(Bytes(""), [], Limit: 1);
        _ = machine.RangeAt(page, machine.Revision - 1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = machine.RangeAt(page, machine.Revision - 1); // one key, one revision back
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Single(result.Entries);
        Assert.True(allocated < 1_000_000, $"a 1-key page at revision {machine.Revision - 1} allocated {allocated:N0} bytes over {machine.Count:N0} keys");
    }

    // ---------- F7: BeginSnapshot copies the whole window on the owner loop ----------

    [Fact]
    public void Snapshot_begin_snapshot_shares_the_window_instead_of_copying_it()
    {
        var machine = WithClients(1); // default limits: 100,000 revisions or 64 MiB
        ulong sequence = 0;
        for (var slot = 0; slot < 300; slot++)
        {
            Apply(machine, [.. Enumerable.Range(0, 100).Select(_ =>
                Txn(1, ++sequence, new KvTxn([], [.. Enumerable.Range(0, 16).Select(i => KvTxnOp.Put(Bytes($"k{i}"), Bytes("v")))], [])))]);
        }

        var expected = machine.Snapshot();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var job = machine.BeginSnapshot();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Apply(machine, Put(1, ++sequence, "k0", "after"));
        Apply(machine, Compact(1, ++sequence, machine.Revision));

        Assert.Equal(expected, job.Serialize());
        machine.EndSnapshot(job);
        Assert.True(allocated < 1_000_000, $"BeginSnapshot allocated {allocated:N0} bytes for a window of {machine.HistoryEventCount:N0} changes");
    }

    // ---------- Model check: ring, trimming, compaction, restore and background snapshots against a brute-force model ----------

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 24)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Model_past_reads_agree_with_every_state_recorded(int seed)
    {
        var random = new Random(seed);
        var limits = new KvHistoryLimits(Revisions: random.Next(2) == 0 ? random.Next(1, 40) : random.Next(100, 3_000), Bytes: random.Next(3) == 0 ? random.Next(0, 3_000) : long.MaxValue);
        var machine = WithClients(1, history: limits);
        var shadow = WithClients(1, history: limits); // restored from snapshots along the way
        var states = new Dictionary<long, SortedDictionary<string, string>> { [0] = new(StringComparer.Ordinal) };
        var current = new SortedDictionary<string, string>(StringComparer.Ordinal);
        ulong sequence = 0;
        KvSnapshotJob? job = null;
        byte[]? jobExpected = null;
        for (var step = 0; step < 600; step++)
        {
            var commands = new List<byte[]>();
            var count = random.Next(1, 6);
            for (var c = 0; c < count; c++)
            {
                var key = $"k{random.Next(12)}";
                var roll = random.Next(10);
                sequence++;
                if (roll < 5)
                {
                    commands.Add(Put(1, sequence, key, $"v{step}.{c}"));
                }
                else if (roll < 7)
                {
                    commands.Add(Delete(1, sequence, key));
                }
                else if (roll < 9)
                {
                    var keys = Enumerable.Range(0, 12).OrderBy(_ => random.Next()).Take(random.Next(1, 5)).Select(i => $"k{i}").ToArray();
                    var ops = keys.Select(k => random.Next(2) == 0 ? KvTxnOp.Put(Bytes(k), Bytes($"t{step}.{c}")) : KvTxnOp.Delete(Bytes(k))).ToList();
                    commands.Add(Txn(1, sequence, new KvTxn([], ops, [])));
                }
                else
                {
                    commands.Add(Compact(1, sequence, Math.Max(1, machine.Revision - random.Next(0, random.Next(2) == 0 ? 10 : 2_000))));
                }
            }

            var before = machine.Revision;
            var results = Apply(machine, [.. commands]);
            Apply(shadow, [.. commands]);

            // Replay the model from the answers: recompute the state for each revision the slot made.
            var revision = before;
            foreach (var (command, result) in commands.Zip(results))
            {
                var decoded = KvCommand.Decode(command);
                if (result.Status != KvStatus.Ok || decoded.Operation == KvOperation.Compact)
                {
                    continue;
                }

                var changed = false;
                if (decoded.Txn is { } txn)
                {
                    foreach (var op in txn.Success)
                    {
                        var k = Encoding.UTF8.GetString(op.Key);
                        if (op.Kind == KvTxnOpKind.Put) { current[k] = Encoding.UTF8.GetString(op.Value); changed = true; }
                        else if (op.Kind == KvTxnOpKind.Delete && current.Remove(k)) { changed = true; }
                    }
                }
                else if (decoded.Operation == KvOperation.Put)
                {
                    current[Encoding.UTF8.GetString(decoded.Key)] = Encoding.UTF8.GetString(decoded.Value);
                    changed = true;
                }
                else if (decoded.Operation == KvOperation.Delete)
                {
                    current.Remove(Encoding.UTF8.GetString(decoded.Key));
                    changed = true;
                }

                if (changed)
                {
                    revision++;
                    Assert.Equal(revision, result.Revision);
                    states[revision] = new SortedDictionary<string, string>(current, StringComparer.Ordinal);
                }
            }

            Assert.Equal(revision, machine.Revision);
            Assert.True(machine.CompactRevision <= machine.Revision + 1);

            // Every readable revision agrees with the model, by range and by key.
            var lowest = Math.Max(1, machine.CompactRevision);
            var sample = Enumerable.Range(0, 12).Select(_ => random.NextInt64(lowest, machine.Revision + 1)).Append(lowest).Append(machine.Revision).Where(r => r >= lowest && r <= machine.Revision).Distinct();
            foreach (var r in sample)
            {
                Assert.Null(machine.RevisionProblem(r, out _));
                var expected = states[r].Select(kv => $"{kv.Key}={kv.Value}").ToArray();
                var got = machine.RangeAt(KvRange.Prefix(Bytes("k")), r).Entries.Select(kv => $"{Encoding.UTF8.GetString(kv.Key)}={Encoding.UTF8.GetString(kv.Entry.Value.Span)}").ToArray();
                Assert.Equal(expected, got);
                for (var i = 0; i < 12; i++)
                {
                    var k = $"k{i}";
                    var found = machine.TryGetEntryAt(Bytes(k), r, out var e);
                    Assert.Equal(states[r].ContainsKey(k), found);
                    if (found) Assert.Equal(states[r][k], Encoding.UTF8.GetString(e.Value.Span));
                }

                var from = $"k{random.Next(12)}";
                var limit = random.Next(0, 4);
                var page = machine.RangeAt(new KvRange(Bytes(from), Bytes("k9"), limit), r);
                var all = states[r].Where(kv => string.CompareOrdinal(kv.Key, from) >= 0 && string.CompareOrdinal(kv.Key, "k9") < 0).ToArray();
                var want = limit == 0 ? all : all.Take(limit).ToArray();
                Assert.Equal(want.Select(kv => kv.Key), page.Entries.Select(kv => Encoding.UTF8.GetString(kv.Key)));
            }

            // Events: from CompactRevision on, in order, with their previous entries chaining per key.
            var events = new List<KvEvent>();
            var next = machine.EventsFrom(machine.CompactRevision, KvRange.Prefix(Bytes("k")), events, int.MaxValue);
            Assert.Equal(machine.Revision + 1, next);
            Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Revision <= p.Second.Revision));

            // Snapshots: same bytes as the shadow; a restore reproduces them; the shadow is replaced by a restore now and then.
            var bytes = machine.SnapshotInProgress ? null : machine.Snapshot();
            if (bytes is not null)
            {
                Assert.Equal(bytes, shadow.Snapshot());
            }

            if (bytes is not null && random.Next(7) == 0)
            {
                shadow = KvStateMachine.Restore(bytes, history: limits);
                Assert.Equal(bytes, shadow.Snapshot());
            }

            if (job is null && random.Next(9) == 0)
            {
                jobExpected = machine.Snapshot();
                job = machine.BeginSnapshot();
            }
            else if (job is not null && random.Next(3) == 0)
            {
                Assert.Equal(jobExpected, job.Serialize());
                machine.EndSnapshot(job);
                job = null;
            }
        }
    }
}
