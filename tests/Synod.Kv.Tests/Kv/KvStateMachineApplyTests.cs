using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

public sealed class KvStateMachineApplyTests
{
    [Fact]
    public void A_new_machine_is_empty_at_slot_0()
    {
        var machine = new KvStateMachine();

        Assert.Equal(0, machine.AppliedSlot);
        Assert.Equal(0, machine.Count);
        Assert.Null(Get(machine, "k"));
    }

    [Fact]
    public void Put_sets_the_value_and_answers_Ok()
    {
        var machine = WithClients(1);

        var results = Apply(machine, Put(1, 1, "k", "a"), Put(1, 2, "k", "b"));

        Assert.Equal(
            [
                new(1, 1, KvStatus.Ok, false, Revision: 1, Entry: new KvEntry("a"u8.ToArray(), 1, 1, 1)),
                new(1, 2, KvStatus.Ok, false, Revision: 2, Entry: new KvEntry("b"u8.ToArray(), 1, 2, 2)),
            ],
            results);
        Assert.Equal("b", Get(machine, "k"));
        Assert.Equal(1, machine.Count);
        Assert.Equal(2, machine.AppliedSlot);
    }

    [Fact]
    public void A_put_keeps_its_value_in_its_command_so_the_log_and_the_state_share_the_bytes()
    {
        var machine = WithClients(1);
        var command = new KvCommand(1, 1, KvOperation.Put, Bytes("k"), Bytes("a value")).Encode();

        machine.ApplySlot(machine.AppliedSlot + 1, [command]);

        Assert.True(machine.TryGetEntry("k"u8, out var entry));
        Assert.Equal(Bytes("a value"), entry.Value.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(entry.Value, out var kept));
        Assert.Same(command, kept.Array);
    }

    [Fact]
    public void Delete_of_an_existing_key_answers_Ok_and_removes_it()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k", "a"));

        var results = Apply(machine, Delete(1, 2, "k"));

        Assert.Equal(KvStatus.Ok, results[0].Status);
        Assert.Null(Get(machine, "k"));
        Assert.Equal(0, machine.Count);
    }

    [Fact]
    public void Delete_of_a_missing_key_answers_NotFound_and_is_still_applied()
    {
        var machine = WithClients(1);

        var results = Apply(machine, Delete(1, 1, "missing"), Delete(1, 1, "missing"));

        Assert.Equal(new AppliedCommand(1, 1, KvStatus.NotFound, false), results[0]);
        Assert.Equal(new AppliedCommand(1, 1, KvStatus.NotFound, true), results[1]);
    }

    [Fact]
    public void An_empty_slot_is_a_no_op_that_still_advances_AppliedSlot()
    {
        var machine = new KvStateMachine();

        var results = machine.ApplySlot(1, []);

        Assert.Empty(results);
        Assert.Equal(1, machine.AppliedSlot);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void Slots_must_be_applied_in_order_starting_at_1(long slot)
    {
        var machine = new KvStateMachine();

        var exception = Assert.Throws<InvalidOperationException>(() => machine.ApplySlot(slot, []));

        Assert.Contains($"Slot {slot}", exception.Message, StringComparison.Ordinal);
        Assert.Contains("must be 1", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, machine.AppliedSlot);
    }

    [Fact]
    public void A_slot_cannot_be_applied_twice()
    {
        var machine = WithClients(2);
        machine.ApplySlot(2, [Put(1, 1, "k", "a")]);

        var exception = Assert.Throws<InvalidOperationException>(() => machine.ApplySlot(2, [Put(2, 1, "k", "b")]));

        Assert.Contains("last applied is 2", exception.Message, StringComparison.Ordinal);
        Assert.Equal("a", Get(machine, "k"));
    }

    [Fact]
    public void An_invalid_command_inside_a_batch_does_not_stop_the_others()
    {
        var machine = WithClients(2);
        var oversized = new KvCommand(3, 1, KvOperation.Put, new byte[KvLimits.KeyBytesMax + 1], []).Encode();
        var sequenceZero = new KvCommand(4, 0, KvOperation.Put, [1], []).Encode();

        var results = Apply(machine, Put(1, 1, "a", "1"), [0xFF, 0x00], null!, oversized, sequenceZero, [], Put(2, 1, "b", "2"));

        Assert.Equal(
            [
                new(1, 1, KvStatus.Ok, false, Revision: 1, Entry: new KvEntry("1"u8.ToArray(), 1, 1, 1)),
                new(0, 0, KvStatus.Invalid, false),
                new(0, 0, KvStatus.Invalid, false),
                new(0, 0, KvStatus.Invalid, false),
                new(4, 0, KvStatus.Invalid, false),
                new(0, 0, KvStatus.Invalid, false),
                new(2, 1, KvStatus.Ok, false, Revision: 2, Entry: new KvEntry("2"u8.ToArray(), 2, 2, 1)),
            ],
            results);
        Assert.Equal("1", Get(machine, "a"));
        Assert.Equal("2", Get(machine, "b"));
        Assert.Equal(2, machine.Count);
    }

    [Fact]
    public void An_invalid_command_changes_nothing_not_even_the_session()
    {
        var machine = new KvStateMachine();
        var emptyKey = new KvCommand(7, 1, KvOperation.Put, [], [1]).Encode();

        var results = Apply(machine, emptyKey);

        Assert.Equal(new AppliedCommand(7, 1, KvStatus.Invalid, false), results[0]);
        Assert.False(machine.HasSession(7));
        Assert.Equal(0, machine.Count);
    }

    [Fact]
    public void Random_garbage_commands_never_throw()
    {
        var random = new Random(77);
        var machine = new KvStateMachine();
        for (var slot = 1; slot <= 2_000; slot++)
        {
            var batch = new byte[random.Next(0, 5)][];
            for (var index = 0; index < batch.Length; index++)
            {
                batch[index] = new byte[random.Next(0, 24)];
                random.NextBytes(batch[index]);
            }

            var results = machine.ApplySlot(slot, batch);

            Assert.Equal(batch.Length, results.Count);
        }
    }

    [Fact]
    public void TryGet_reads_by_span_and_misses_cleanly()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "key", "value"));

        Assert.True(machine.TryGet("key"u8, out var value));
        Assert.Equal(Bytes("value"), value.ToArray());
        Assert.False(machine.TryGet("ke"u8, out _));
        Assert.False(machine.TryGet(ReadOnlySpan<byte>.Empty, out _));
    }

    [Fact]
    public void ContentHash_depends_on_the_data_and_AppliedSlot()
    {
        var first = WithClients(1);
        var second = WithClients(1);
        Apply(first, Put(1, 1, "ab", "c"));
        Apply(second, Put(1, 1, "a", "bc"));
        var emptyAtSlot1 = new KvStateMachine();
        emptyAtSlot1.ApplySlot(1, []);

        Assert.NotEqual(first.ContentHash(), second.ContentHash());
        Assert.NotEqual(new KvStateMachine().ContentHash(), emptyAtSlot1.ContentHash());
    }

    [Fact]
    public void SessionsMax_below_1_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvStateMachine(sessionsMax: 0));
    }
}
