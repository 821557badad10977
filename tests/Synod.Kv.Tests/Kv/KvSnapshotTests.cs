using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

public sealed class KvSnapshotTests
{
    private const int HeaderBytes = 17;
    private const int ChecksumOffset = 13;

    /// <summary>What `synod snapshot restore --id` relies on to refuse a file no replica could hold, before allocating it.</summary>
    [Fact]
    public void A_snapshot_over_the_limit_given_is_refused_with_its_size_and_one_within_it_is_the_same_as_without_a_limit()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "a", new string('v', 500)));
        var whole = machine.Snapshot();

        var refused = Assert.Throws<KvSnapshotTooLargeException>(() => machine.Snapshot(bytesMax: whole.Length - 1));
        Assert.Equal((whole.Length, whole.Length - 1L), (refused.Bytes, refused.Limit));
        Assert.Equal(whole, machine.Snapshot(bytesMax: whole.Length));
    }

    [Fact]
    public void Restore_of_Snapshot_preserves_data_AppliedSlot_sessions_and_ContentHash()
    {
        var machine = SampleMachine();

        var restored = KvStateMachine.Restore(machine.Snapshot());

        Assert.Equal(machine.AppliedSlot, restored.AppliedSlot);
        Assert.Equal(machine.Count, restored.Count);
        Assert.Equal("v2", Get(restored, "k"));
        Assert.Equal("w", Get(restored, "other"));
        Assert.Null(Get(restored, "deleted"));
        Assert.Equal(machine.ContentHash(), restored.ContentHash());
        Assert.Equal(machine.Snapshot(), restored.Snapshot());
    }

    /// <summary>
    /// A restart or a catch-up restores from the snapshot's own memory: its values, and those of its history, are slices
    /// of it rather than copies (docs/performance.md, "Restored values as slices of the snapshot"); bytes given as a
    /// span, or without keepSlices, are copied.
    /// </summary>
    [Fact]
    public void A_snapshot_restored_from_its_array_keeps_values_as_slices_of_it_and_one_from_a_span_copies_them()
    {
        var machine = SampleMachine();
        var snapshot = machine.Snapshot();
        var framed = new byte[snapshot.Length + 5];
        snapshot.CopyTo(framed, 5); // behind other bytes, as the core's envelope leaves it

        var sliced = KvStateMachine.Restore(framed.AsMemory(5), keepSlices: true);
        Assert.True(sliced.TryGetEntry("k"u8, out var entry));
        Assert.True(MemoryMarshal.TryGetArray(entry.Value, out var segment));
        Assert.Same(framed, segment.Array);
        Assert.Equal("v2", Encoding.UTF8.GetString(entry.Value.Span));
        var events = new List<KvEvent>();
        sliced.EventsFrom(sliced.CompactRevision, KvRange.Prefix(Bytes("k")), events, eventsMax: 10);
        Assert.Equal(["v1", "v2"], events.Select(e => Encoding.UTF8.GetString(e.Entry!.Value.Value.Span)));
        Assert.All(events, e => Assert.Same(framed, MemoryMarshal.TryGetArray(e.Entry!.Value.Value, out var s) ? s.Array : null));
        Assert.Equal(machine.Snapshot(), sliced.Snapshot());
        Assert.Equal(machine.ContentHash(), sliced.ContentHash());

        foreach (var copied in new[] { KvStateMachine.Restore(snapshot.AsSpan()), KvStateMachine.Restore(framed.AsMemory(5), keepSlices: false) })
        {
            Assert.True(copied.TryGetEntry("k"u8, out var own));
            Assert.True(MemoryMarshal.TryGetArray(own.Value, out var ownSegment));
            Assert.NotSame(snapshot, ownSegment.Array);
            Assert.NotSame(framed, ownSegment.Array);
            Assert.Equal(2, ownSegment.Count);
            Assert.False(copied.HoldsRestoredArray);
        }

        // Memory of a manager (never written, alive while referenced): kept alive by the slices.
        var manager = new ArrayMemory(framed);
        var mapped = KvStateMachine.Restore(manager.Memory[5..], keepSlices: true);
        Assert.True(mapped.TryGetEntry("k"u8, out var inManager));
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, ArrayMemory>(inManager.Value, out var found));
        Assert.Same(manager, found);
        Assert.Equal(machine.Snapshot(), mapped.Snapshot());
    }

    /// <summary>Memory of a manager over an array, as a mapped file is (its bytes not reachable as an array).</summary>
    private sealed class ArrayMemory(byte[] bytes) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => bytes;

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    /// <summary>
    /// Restored values leave the snapshot's array once half as many commands as keys have been applied after the restore (a few
    /// per command, never while a background snapshot reads the dictionary), so that an overwritten part does not keep
    /// the whole array alive beside its copies; nothing a reader sees changes.
    /// </summary>
    [Fact]
    public void Restored_values_move_into_arrays_of_their_own_after_enough_writes_but_not_during_a_background_snapshot()
    {
        const int Keys = 40;
        var original = WithClients(1);
        var sequence = 1UL;
        Apply(original, [.. Enumerable.Range(0, Keys).Select(i => Put(1, sequence++, $"k{i:D2}", $"value {i}"))]);
        var snapshot = original.Snapshot();
        var restored = KvStateMachine.Restore(snapshot.AsMemory(), keepSlices: true);
        bool Sliced(string key) =>
            restored.TryGetEntry(Bytes(key), out var entry) && MemoryMarshal.TryGetArray(entry.Value, out var segment) && ReferenceEquals(segment.Array, snapshot);
        void Write(string key)
        {
            var command = Put(1, sequence++, key, "new");
            Apply(original, command);
            Apply(restored, command);
        }

        Assert.True(restored.HoldsRestoredArray);
        for (var i = 0; i < (Keys / 2) - 1; i++)
        {
            Write($"other{i}");
        }

        Assert.True(Sliced("k00") && Sliced("k39"), "fewer commands than half the keys: nothing moves yet");
        var job = restored.BeginSnapshot();
        for (var i = 0; i < 5; i++)
        {
            Write($"during{i}");
        }

        Assert.True(Sliced("k00") && Sliced("k39"), "no value moves while a background snapshot reads the dictionary");
        restored.EndSnapshot(job);
        Write("after0");
        Assert.False(Sliced("k00"));
        Assert.True(Sliced("k39"), $"{KvStateMachine.RestoredValuesMovedPerCommand} values move per command");
        Write("after1");
        Write("after2");
        Assert.False(restored.HoldsRestoredArray);
        Assert.All(Enumerable.Range(0, Keys), i => Assert.False(Sliced($"k{i:D2}")));
        Assert.Equal("value 39", Get(restored, "k39"));
        Assert.Equal(original.Snapshot(), restored.Snapshot());
    }

    [Fact]
    public void SnapshotProblem_names_a_damaged_snapshot_and_passes_an_intact_one()
    {
        var snapshot = SampleMachine().Snapshot();
        Assert.Null(KvStateMachine.SnapshotProblem(snapshot));

        var damaged = snapshot.ToArray();
        damaged[^1] ^= 0x40;
        Assert.Contains("checksum", KvStateMachine.SnapshotProblem(damaged), StringComparison.Ordinal);
        Assert.Contains("truncated", KvStateMachine.SnapshotProblem(snapshot.AsSpan(0, 3)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_retry_after_restore_is_still_a_duplicate_with_its_first_result()
    {
        var machine = SampleMachine();
        var restored = KvStateMachine.Restore(machine.Snapshot());

        var results = Apply(restored, Delete(2, 2, "deleted"), Put(1, 1, "k", "v1"));

        // SampleMachine's revisions: 1 k=v1, 2 deleted=d, 3 k=v2, 4 the delete, 5 other=w.
        Assert.Equal(new AppliedCommand(2, 2, KvStatus.Ok, Duplicate: true, Revision: 4), results[0]);
        Assert.Equal(new AppliedCommand(1, 1, KvStatus.StaleSequence, Duplicate: false), results[1]);
        Assert.Equal("v2", Get(restored, "k"));
    }

    [Fact]
    public void A_restored_machine_goes_on_exactly_like_the_original()
    {
        var machine = SampleMachine();
        var restored = KvStateMachine.Restore(machine.Snapshot());
        byte[][] next = [Put(1, 3, "k", "v3"), Put(9, 1, "new", "n"), Delete(2, 3, "other")];

        Assert.Equal(Apply(machine, next), Apply(restored, next));
        Assert.Equal(machine.Snapshot(), restored.Snapshot());
    }

    [Fact]
    public void An_empty_machine_round_trips()
    {
        var restored = KvStateMachine.Restore(new KvStateMachine().Snapshot());

        Assert.Equal(0, restored.AppliedSlot);
        Assert.Equal(0, restored.Count);
        Assert.Equal(new KvStateMachine().ContentHash(), restored.ContentHash());
    }

    [Fact]
    public void Snapshot_bytes_do_not_depend_on_dictionary_insertion_history()
    {
        var applied = new KvStateMachine();
        // The deletes and re-puts reuse dictionary slots; a restore inserts the same keys in key order.
        applied.ApplySlot(1, Batch(200, reverse: false, i => Put(1_000 + (ulong)i, 1, $"key{i}", "x")));
        applied.ApplySlot(2, Batch(200, reverse: true, i => i % 2 == 0 ? Delete(2_000 + (ulong)i, 1, $"key{i}") : []));
        applied.ApplySlot(3, Batch(200, reverse: false, i => i % 2 == 0 ? Put(3_000 + (ulong)i, 1, $"key{i}", "y") : []));
        var restored = KvStateMachine.Restore(applied.Snapshot());

        Assert.Equal(applied.Snapshot(), restored.Snapshot());
        Assert.Equal(applied.ContentHash(), restored.ContentHash());
    }

    [Fact]
    public void A_machine_restored_midway_snapshots_the_same_bytes_as_one_that_never_stopped()
    {
        var slots = RandomSlots(seed: 11, count: 200);
        var straight = new KvStateMachine();
        var interrupted = new KvStateMachine();
        for (var index = 0; index < slots.Count; index++)
        {
            straight.ApplySlot(index + 1, slots[index]);
            interrupted.ApplySlot(index + 1, slots[index]);
            if (index % 50 == 25)
            {
                interrupted = KvStateMachine.Restore(interrupted.Snapshot());
            }
        }

        Assert.Equal(straight.Snapshot(), interrupted.Snapshot());
        Assert.Equal(straight.ContentHash(), interrupted.ContentHash());
    }

    [Fact]
    public void A_flipped_body_byte_fails_the_checksum()
    {
        var snapshot = SampleMachine().Snapshot();
        for (var index = HeaderBytes; index < snapshot.Length; index++)
        {
            var corrupt = (byte[])snapshot.Clone();
            corrupt[index] ^= 0x01;

            var exception = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(corrupt));
            Assert.Contains("checksum", exception.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_flipped_header_byte_is_rejected()
    {
        var snapshot = SampleMachine().Snapshot();
        for (var index = 0; index < HeaderBytes; index++)
        {
            var corrupt = (byte[])snapshot.Clone();
            corrupt[index] ^= 0x10;

            Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(corrupt));
        }
    }

    [Fact]
    public void An_unknown_snapshot_version_is_rejected_naming_it()
    {
        var snapshot = SampleMachine().Snapshot();
        snapshot[4] = 8;

        var exception = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("version 8", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_snapshot_is_rejected()
    {
        var snapshot = SampleMachine().Snapshot();
        for (var length = 0; length < snapshot.Length; length++)
        {
            var exception = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot.AsSpan(0, length)));
            Assert.Contains("truncated", exception.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_corrupt_body_with_a_matching_checksum_throws_only_KvFormatException()
    {
        // Simulates a bug in a writer rather than a disk: the checksum passes, so the parser itself must hold.
        var snapshot = SampleMachine().Snapshot();
        for (var index = HeaderBytes; index < snapshot.Length; index++)
        {
            foreach (var value in new byte[] { 0x00, 0x01, 0x7F, 0x80, 0xFF })
            {
                var corrupt = (byte[])snapshot.Clone();
                corrupt[index] = value;
                var checksum = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, corrupt.AsSpan(HeaderBytes));
                BinaryPrimitives.WriteUInt32LittleEndian(corrupt.AsSpan(ChecksumOffset), checksum);
                try
                {
                    _ = KvStateMachine.Restore(corrupt);
                }
                catch (KvFormatException)
                {
                }
            }
        }
    }

    [Fact]
    public void Restore_with_a_smaller_sessionsMax_keeps_the_most_recently_used_sessions()
    {
        var machine = WithClients(3);
        Apply(machine, Put(1, 1, "a", "1"));
        Apply(machine, Put(2, 1, "b", "1"));
        Apply(machine, Put(3, 1, "c", "1"));

        var restored = KvStateMachine.Restore(machine.Snapshot(), sessionsMax: 2);

        Assert.False(restored.HasSession(1));
        Assert.True(restored.HasSession(2));
        Assert.True(restored.HasSession(3));
    }

    /// <summary>
    /// A version 1 snapshot, written before client ids were assigned through the log, has no last client id: it is read
    /// as 0, and its sessions (under ids the clients picked) go on as before. Until the first registration the old rule
    /// holds, so a log tail written by the old code replays as it applied; after it, an id nobody assigned is refused.
    /// </summary>
    [Fact]
    public void A_version_1_snapshot_is_read_with_last_client_id_0_and_its_sessions_kept()
    {
        // Version 1 body: applied slot 1; one key "k" = "v"; one session: client 7,000,123 at sequence 1, Ok, used in slot 1.
        byte[] body = [1, 1, 1, (byte)'k', 1, (byte)'v', 1, .. Leb128(7_000_123), 1, (byte)KvStatus.Ok, 1];
        var v1 = WithHeader(version: 1, body);

        var restored = KvStateMachine.Restore(v1);

        Assert.Equal(0UL, restored.LastClientId);
        Assert.Equal("v", Get(restored, "k"));
        // A snapshot from before revisions restores without them; the first command of this build numbers the keys.
        Assert.Equal((0L, false), (restored.Revision, restored.RevisionsStarted));
        Assert.Equal(new AppliedCommand(7_000_123, 1, KvStatus.Ok, true, Revision: 0), Apply(restored, Put(7_000_123, 1, "k", "v"))[0]);
        Assert.Equal((1L, true), (restored.Revision, restored.RevisionsStarted));
        var next = Apply(restored, Put(7_000_123, 2, "k", "w"))[0];
        Assert.Equal((KvStatus.Ok, 2L, 1L, 2L), (next.Status, next.Revision, next.Entry!.Value.CreateRevision, next.Entry!.Value.Version));
        Assert.Equal(KvStatus.Ok, Apply(restored, Put(7_000_124, 1, "k", "x"))[0].Status);
        Assert.Equal(1UL, Apply(restored, Register(5))[0].RegisteredClientId);
        Assert.Equal(KvStatus.UnknownClient, Apply(restored, Put(7_000_125, 1, "k", "y"))[0].Status);
        Assert.Equal(KvStatus.Ok, Apply(restored, Put(7_000_124, 2, "k", "z"))[0].Status);
    }

    [Fact]
    public void A_snapshot_whose_key_revisions_break_their_order_is_refused()
    {
        // Version 3 body: slot 1, last client 0, revision 2, revisions started, key "k" = "v" with create 2 > mod 1, no sessions.
        byte[] body = [1, 0, 2, 1, 1, 1, (byte)'k', 1, (byte)'v', 2, 1, 1, 0];

        var error = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(WithHeader(version: 3, body)));

        Assert.Contains("create revision 2, mod revision 1", error.Message, StringComparison.Ordinal);
    }

    private static byte[] WithHeader(byte version, byte[] body)
    {
        var snapshot = new byte[HeaderBytes + body.Length];
        "SYKV"u8.CopyTo(snapshot);
        snapshot[4] = version;
        BinaryPrimitives.WriteUInt64LittleEndian(snapshot.AsSpan(5), (ulong)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(snapshot.AsSpan(ChecksumOffset), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, body));
        body.CopyTo(snapshot.AsSpan(HeaderBytes));
        return snapshot;
    }

    private static byte[] Leb128(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var low = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value == 0 ? low : (byte)(low | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    /// <summary>Slot 1 registers clients 1-3; slots 2-5: client 1 puts k twice, client 2 puts and deletes, client 3 puts; slot 4 is empty.</summary>
    private static KvStateMachine SampleMachine()
    {
        var machine = WithClients(3);
        Apply(machine, Put(1, 1, "k", "v1"), Put(2, 1, "deleted", "d"));
        Apply(machine, Put(1, 2, "k", "v2"), Delete(2, 2, "deleted"));
        Apply(machine);
        Apply(machine, Put(3, 1, "other", "w"));
        return machine;
    }

    private static byte[][] Batch(int count, bool reverse, Func<int, byte[]> command)
    {
        var commands = Enumerable.Range(0, count).Select(command).Where(bytes => bytes.Length > 0);
        return (reverse ? commands.Reverse() : commands).ToArray();
    }

    private static List<byte[][]> RandomSlots(int seed, int count)
    {
        var random = new Random(seed);
        var sequences = new Dictionary<ulong, ulong>();
        List<byte[][]> slots = [[.. Enumerable.Range(1, 19).Select(i => Register((ulong)i))]];
        for (var slot = 1; slot < count; slot++)
        {
            var batch = new byte[random.Next(0, 6)][];
            for (var index = 0; index < batch.Length; index++)
            {
                var client = (ulong)random.Next(1, 20);
                var sequence = sequences.GetValueOrDefault(client) + 1;
                sequences[client] = sequence;
                var key = $"key{random.Next(0, 60)}";
                batch[index] = random.Next(0, 4) == 0 ? Delete(client, sequence, key) : Put(client, sequence, key, $"value{slot}");
            }

            slots.Add(batch);
        }

        return slots;
    }
}
