using System.Buffers.Binary;
using System.IO.Hashing;
using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

public sealed class KvSnapshotTests
{
    private const int HeaderBytes = 17;
    private const int ChecksumOffset = 13;

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

    [Fact]
    public void A_retry_after_restore_is_still_a_duplicate_with_its_first_result()
    {
        var machine = SampleMachine();
        var restored = KvStateMachine.Restore(machine.Snapshot());

        var results = Apply(restored, Delete(2, 2, "deleted"), Put(1, 1, "k", "v1"));

        Assert.Equal(new AppliedCommand(2, 2, KvStatus.Ok, Duplicate: true), results[0]);
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
        var forward = new KvStateMachine();
        var backward = new KvStateMachine();
        foreach (var (machine, reverse) in new[] { (forward, false), (backward, true) })
        {
            // Same slots, commands in opposite orders; the deletes and re-puts reuse dictionary slots in forward.
            machine.ApplySlot(1, Batch(200, reverse, i => Put(1_000 + (ulong)i, 1, $"key{i}", "x")));
            machine.ApplySlot(2, Batch(200, reverse, i => i % 2 == 0 ? Delete(2_000 + (ulong)i, 1, $"key{i}") : []));
            machine.ApplySlot(3, Batch(200, reverse, i => i % 2 == 0 ? Put(3_000 + (ulong)i, 1, $"key{i}", "y") : []));
        }

        Assert.Equal(forward.Snapshot(), backward.Snapshot());
        Assert.Equal(forward.ContentHash(), backward.ContentHash());
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
        snapshot[4] = 7;

        var exception = Assert.Throws<KvFormatException>(() => KvStateMachine.Restore(snapshot));
        Assert.Contains("version 7", exception.Message, StringComparison.Ordinal);
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
        var old = new KvStateMachine(bugs: KvBugs.FirstWriteOpensSession);
        Apply(old, Put(7_000_123, 1, "k", "v"));
        var snapshot = old.Snapshot();
        var body = snapshot.AsSpan(HeaderBytes);
        // Version 2 body: applied slot (1 byte here), last client id (0: 1 byte), then as version 1.
        Assert.Equal(0, body[1]);
        byte[] oldBody = [body[0], .. body[2..]];
        var v1 = new byte[HeaderBytes + oldBody.Length];
        snapshot.AsSpan(0, HeaderBytes).CopyTo(v1);
        oldBody.CopyTo(v1.AsSpan(HeaderBytes));
        v1[4] = 1;
        BinaryPrimitives.WriteUInt64LittleEndian(v1.AsSpan(5), (ulong)oldBody.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(v1.AsSpan(ChecksumOffset), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, oldBody));

        var restored = KvStateMachine.Restore(v1);

        Assert.Equal(0UL, restored.LastClientId);
        Assert.Equal("v", Get(restored, "k"));
        Assert.Equal(new AppliedCommand(7_000_123, 2, KvStatus.Ok, false), Apply(restored, Put(7_000_123, 2, "k", "w"))[0]);
        Assert.Equal(KvStatus.Ok, Apply(restored, Put(7_000_124, 1, "k", "x"))[0].Status);
        Assert.Equal(1UL, Apply(restored, Register(5))[0].RegisteredClientId);
        Assert.Equal(KvStatus.UnknownClient, Apply(restored, Put(7_000_125, 1, "k", "y"))[0].Status);
        Assert.Equal(new AppliedCommand(7_000_124, 2, KvStatus.Ok, false), Apply(restored, Put(7_000_124, 2, "k", "z"))[0]);
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
