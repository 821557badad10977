using System.Text;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>Range reads of the state machine: [from, to) and prefixes in bytewise order, limits, keys-only and counts.</summary>
public sealed class KvRangeTests
{
    private static KvStateMachine Sample()
    {
        var machine = WithClients(1);
        ulong sequence = 0;
        foreach (var key in new[] { "app/b", "app/a", "apq", "app/c/x", "ap", "b", "app/" })
        {
            Apply(machine, Put(1, ++sequence, key, $"value of {key}"));
        }

        return machine;
    }

    private static string[] Keys(KvRangeResult result) => [.. result.Entries.Select(kv => Encoding.UTF8.GetString(kv.Key))];

    [Fact]
    public void A_prefix_reads_exactly_the_keys_that_begin_with_it_in_bytewise_order()
    {
        var result = Sample().Range(KvRange.Prefix(Bytes("app/")));

        Assert.Equal(["app/", "app/a", "app/b", "app/c/x"], Keys(result));
        Assert.Equal((false, 4L), (result.More, result.Count));
        Assert.Equal("value of app/a", Encoding.UTF8.GetString(result.Entries[1].Entry.Value.Span));
    }

    [Fact]
    public void A_range_includes_its_start_and_excludes_its_end_and_an_empty_end_reads_to_the_last_key()
    {
        var machine = Sample();

        Assert.Equal(["app/a", "app/b"], Keys(machine.Range(new KvRange(Bytes("app/a"), Bytes("app/c")))));
        Assert.Equal(["apq", "b"], Keys(machine.Range(new KvRange(Bytes("apq"), []))));
        Assert.Empty(Keys(machine.Range(new KvRange(Bytes("c"), []))));
        Assert.Empty(Keys(machine.Range(new KvRange(Bytes("b"), Bytes("a")))));
        Assert.Equal(7, machine.Range(KvRange.Prefix([])).Count);
    }

    [Fact]
    public void A_limit_cuts_the_answer_and_says_more_with_a_count_that_is_a_lower_bound()
    {
        var machine = Sample();
        var result = machine.Range(KvRange.Prefix(Bytes("app/"), limit: 2));

        Assert.Equal(["app/", "app/a"], Keys(result));
        Assert.Equal((true, 3L), (result.More, result.Count));
        Assert.Equal(4, machine.Range(KvRange.Prefix(Bytes("app/"), countOnly: true)).Count);
    }

    [Fact]
    public void A_page_costs_what_it_returns_not_the_whole_range()
    {
        // Found by a cold review: every page counted the whole rest of the range, so paging was quadratic and one
        // transaction of 128 ranges held every replica's loop for seconds. A cut page now stops at the first key past it.
        var machine = WithClients(1);
        var keys = Enumerable.Range(0, 30_000).Select(i => Put(1, (ulong)i + 1, $"k{i:D6}", "v")).ToArray();
        for (var start = 0; start < keys.Length; start += 1_000)
        {
            Apply(machine, keys[start..(start + 1_000)]);
        }

        var page = machine.Range(KvRange.Prefix(Bytes("k"), limit: 1));

        Assert.Equal((1, true, 2L), (page.Entries.Count, page.More, page.Count));
        Assert.Equal(30_000, machine.Range(KvRange.Prefix(Bytes("k"), countOnly: true)).Count);
    }

    [Fact]
    public void Keys_only_drops_the_values_and_count_only_returns_no_keys()
    {
        var machine = Sample();

        var keysOnly = machine.Range(KvRange.Prefix(Bytes("app/"), keysOnly: true));
        Assert.All(keysOnly.Entries, kv => Assert.Equal(0, kv.Entry.Value.Length));
        Assert.Equal(4, keysOnly.Entries.Count);
        var countOnly = machine.Range(KvRange.Prefix(Bytes("a"), countOnly: true));
        Assert.Empty(countOnly.Entries);
        Assert.Equal(6, countOnly.Count);
    }

    [Fact]
    public void A_deleted_key_leaves_the_range_and_a_rewritten_one_shows_its_new_revision()
    {
        var machine = Sample();
        Apply(machine, Delete(1, 100, "app/a"), Put(1, 101, "app/b", "new"));

        var result = machine.Range(KvRange.Prefix(Bytes("app/")));

        Assert.Equal(["app/", "app/b", "app/c/x"], Keys(result));
        Assert.Equal((2L, machine.Revision), (result.Entries[1].Entry.Version, result.Entries[1].Entry.ModRevision));
    }

    [Fact]
    public void A_range_read_during_a_background_snapshot_sees_the_writes_made_meanwhile_and_a_restore_rebuilds_the_order()
    {
        var machine = Sample();
        var job = machine.BeginSnapshot();
        Apply(machine, Put(1, 100, "app/0", "during"), Delete(1, 101, "app/c/x"));

        Assert.Equal(["app/", "app/0", "app/a", "app/b"], Keys(machine.Range(KvRange.Prefix(Bytes("app/")))));
        machine.EndSnapshot(job);
        var restored = KvStateMachine.Restore(machine.Snapshot());
        Assert.Equal(Keys(machine.Range(KvRange.Prefix([]))), Keys(restored.Range(KvRange.Prefix([]))));
    }

    [Theory]
    [InlineData(new byte[] { 0x61 }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x61, 0xff }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0xff, 0xff }, new byte[0])]
    [InlineData(new byte[0], new byte[0])]
    public void The_end_of_a_prefix_follows_etcds_rule(byte[] prefix, byte[] end) => Assert.Equal(end, KvRange.PrefixEnd(prefix));

    [Fact]
    public void A_range_out_of_its_limits_is_refused_with_a_sentence()
    {
        Assert.Contains("limit is -1", new KvRange([1], [], Limit: -1).Problem(), StringComparison.Ordinal);
        Assert.Contains("not both", new KvRange([1], [], KeysOnly: true, CountOnly: true).Problem(), StringComparison.Ordinal);
        Assert.Contains("KeyBytesMax + 1", new KvRange(new byte[KvLimits.KeyBytesMax + 2], []).Problem(), StringComparison.Ordinal);
        Assert.Null(new KvRange(new byte[KvLimits.KeyBytesMax + 1], []).Problem());
    }

    /// <summary>
    /// The key index is a list of sorted chunks of 256 keys that split as they fill and go as they empty: thousands of
    /// random puts and deletes (keys from a space of 3,000, so chunks split, shrink and vanish), and every range read
    /// answers what a sorted model holds, from any start to any end, before and after a snapshot is restored.
    /// </summary>
    [Fact]
    public void Range_reads_match_a_sorted_model_through_thousands_of_random_puts_and_deletes()
    {
        var random = new Random(21);
        var machine = WithClients(1);
        var model = new SortedSet<string>(StringComparer.Ordinal);
        ulong sequence = 0;
        string Key(int n) => $"k/{n:D5}";
        for (var step = 0; step < 12_000; step++)
        {
            var key = Key(random.Next(3_000));
            if (random.Next(3) == 0)
            {
                Apply(machine, Delete(1, ++sequence, key));
                model.Remove(key);
            }
            else
            {
                Apply(machine, Put(1, ++sequence, key, "v"));
                model.Add(key);
            }

            if (step % 1_000 == 999)
            {
                AssertRangesMatch(machine, model, random, Key);
            }
        }

        var restored = KvStateMachine.Restore(machine.Snapshot());
        AssertRangesMatch(restored, model, random, Key);
    }

    [Fact]
    public void Keys_written_in_order_then_between_and_past_a_deleted_largest_keep_the_order()
    {
        // Past the largest key the index appends without a search (a restore, keys written in order); the others search.
        var random = new Random(7);
        var machine = WithClients(1);
        var model = new SortedSet<string>(StringComparer.Ordinal);
        ulong sequence = 0;
        string Key(int n) => $"k/{n:D5}";
        void Write(int n, bool delete = false)
        {
            Apply(machine, delete ? Delete(1, ++sequence, Key(n)) : Put(1, ++sequence, Key(n), "v"));
            _ = delete ? model.Remove(Key(n)) : model.Add(Key(n));
        }

        for (var n = 0; n < 2_000; n += 2)
        {
            Write(n);
        }

        AssertRangesMatch(machine, model, random, Key);
        for (var n = 1999; n > 0; n -= 2)
        {
            Write(n);
        }

        for (var n = 1999; n > 1_500; n--)
        {
            Write(n, delete: true);
        }

        for (var n = 1_600; n < 3_000; n++)
        {
            Write(n);
        }

        AssertRangesMatch(machine, model, random, Key);
        AssertRangesMatch(KvStateMachine.Restore(machine.Snapshot()), model, random, Key);
    }

    private static void AssertRangesMatch(KvStateMachine machine, SortedSet<string> model, Random random, Func<int, string> key)
    {
        Assert.Equal(model.ToArray(), Keys(machine.Range(KvRange.Prefix(Bytes("k/")))));
        for (var probe = 0; probe < 20; probe++)
        {
            var (from, to) = (key(random.Next(3_100)), key(random.Next(3_100)));
            var expected = model.Where(k => string.CompareOrdinal(k, from) >= 0 && string.CompareOrdinal(k, to) < 0).ToArray();
            Assert.Equal(expected, Keys(machine.Range(new KvRange(Bytes(from), Bytes(to)))));
            Assert.Equal(model.Where(k => string.CompareOrdinal(k, from) >= 0).ToArray(), Keys(machine.Range(new KvRange(Bytes(from), []))));
        }
    }
}
