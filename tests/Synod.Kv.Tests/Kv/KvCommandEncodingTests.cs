using Synod.Kv;

namespace Synod.Tests.Kv;

public sealed class KvCommandEncodingTests
{
    public static TheoryData<KvCommand> Commands() => new()
    {
        new KvCommand(1, 1, KvOperation.Put, [1], []),
        new KvCommand(42, 7, KvOperation.Put, KvTestCommands.Bytes("key"), KvTestCommands.Bytes("value")),
        new KvCommand(ulong.MaxValue, ulong.MaxValue, KvOperation.Delete, KvTestCommands.Bytes("gone"), []),
        new KvCommand(0x80, 0x3FFF, KvOperation.Put, new byte[KvLimits.KeyBytesMax], new byte[KvLimits.ValueBytesMax]),
        new KvCommand(5, 9, KvOperation.Put, KvTestCommands.Bytes("k"), KvTestCommands.Bytes("v")) { Condition = KvCondition.Absent },
        new KvCommand(5, 10, KvOperation.Delete, KvTestCommands.Bytes("k"), [])
        {
            Condition = new KvCondition(KvCompareTarget.ModRevision, KvCompareOp.Greater, 1L << 53, []),
        },
        new KvCommand(5, 11, KvOperation.Put, KvTestCommands.Bytes("k"), KvTestCommands.Bytes("v"))
        {
            Condition = new KvCondition(KvCompareTarget.Value, KvCompareOp.NotEqual, 0, KvTestCommands.Bytes("old")),
        },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Decode_of_Encode_is_the_same_command(KvCommand command)
    {
        var encoded = command.Encode();
        var decoded = KvCommand.DecodeSharingValue(encoded);
        var copied = KvCommand.Decode(encoded);

        Assert.Equal(command, decoded);
        Assert.Equal(command, copied);
        Assert.Equal(command.Key, decoded.Key);
        Assert.Equal(command.Value, decoded.ValueMemory.ToArray());
        Assert.Equal(command.Value, decoded.Value);
        Assert.Equal(command.Value, copied.Value);
        Assert.Equal(decoded, copied);
        Assert.Null(decoded.Validate());
    }

    [Fact]
    public void A_put_whose_value_is_most_of_its_command_shares_the_array_and_nothing_else_does()
    {
        var put = new KvCommand(1, 1, KvOperation.Put, KvTestCommands.Bytes("k"), KvTestCommands.Bytes("a value")).Encode();

        Assert.Same(put, ArrayOf(KvCommand.DecodeSharingValue(put)));
        Assert.Equal(KvTestCommands.Bytes("a value"), KvCommand.DecodeSharingValue(put).ValueMemory.ToArray());
        Assert.NotSame(put, ArrayOf(KvCommand.Decode(put)));

        // Copied: a condition's operand may be as large as the value; a key that outweighs the value would be kept for
        // nothing; an empty value needs no array.
        var conditional = (new KvCommand(1, 2, KvOperation.Put, KvTestCommands.Bytes("k"), KvTestCommands.Bytes("a value")) { Condition = KvCondition.Absent }).Encode();
        var keyHeavy = new KvCommand(1, 3, KvOperation.Put, new byte[KvLimits.KeyBytesMax], KvTestCommands.Bytes("a value")).Encode();
        var empty = new KvCommand(1, 4, KvOperation.Put, KvTestCommands.Bytes("k"), []).Encode();
        Assert.NotSame(conditional, ArrayOf(KvCommand.DecodeSharingValue(conditional)));
        Assert.NotSame(keyHeavy, ArrayOf(KvCommand.DecodeSharingValue(keyHeavy)));
        Assert.True(KvCommand.DecodeSharingValue(empty).ValueMemory.IsEmpty);
        Assert.NotSame(empty, ArrayOf(KvCommand.DecodeSharingValue(empty)));
    }

    [Fact]
    public void A_shared_value_replaced_by_with_is_the_new_one_and_a_null_one_is_refused()
    {
        var shared = KvCommand.DecodeSharingValue(new KvCommand(1, 1, KvOperation.Put, KvTestCommands.Bytes("k"), KvTestCommands.Bytes("a value")).Encode());

        Assert.Equal(KvTestCommands.Bytes("other"), (shared with { Value = KvTestCommands.Bytes("other") }).ValueMemory.ToArray());
        Assert.Null((shared with { Value = null! }).Value);
        Assert.Contains("value is missing", (shared with { Value = null! }).Validate(), StringComparison.Ordinal);
        Assert.Null(shared.Validate());
    }

    private static byte[]? ArrayOf(KvCommand command) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(command.ValueMemory, out var segment) ? segment.Array : null;

    [Fact]
    public void Encoding_is_version_byte_operation_byte_then_varints_and_lengths()
    {
        var bytes = new KvCommand(300, 2, KvOperation.Put, [0xAA], [0xBB, 0xCC]).Encode();

        byte[] expected = [KvCommand.FormatVersion, 1, 0xAC, 0x02, 0x02, 0x01, 0xAA, 0x02, 0xBB, 0xCC, 0];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void A_command_of_the_encoding_before_revisions_still_decodes_and_says_so()
    {
        byte[] bytes = [KvCommand.FormatVersionBeforeRevisions, 1, 0xAC, 0x02, 0x02, 0x01, 0xAA, 0x02, 0xBB, 0xCC];

        var decoded = KvCommand.Decode(bytes);

        Assert.Equal(new KvCommand(300, 2, KvOperation.Put, [0xAA], [0xBB, 0xCC]), decoded);
        Assert.Equal(KvCommand.FormatVersionBeforeRevisions, decoded.EncodingVersion);
        Assert.Null(decoded.Condition);
    }

    [Fact]
    public void A_condition_is_written_after_the_value_behind_a_flag()
    {
        var bytes = new KvCommand(300, 2, KvOperation.Put, [0xAA], [0xBB]) { Condition = new KvCondition(KvCompareTarget.Version, KvCompareOp.Less, 3, []) }.Encode();

        byte[] expected = [KvCommand.FormatVersion, 1, 0xAC, 0x02, 0x02, 0x01, 0xAA, 0x01, 0xBB, 1, 1, 3, 3, 0];
        Assert.Equal(expected, bytes);
        Assert.Throws<KvFormatException>(() => KvCommand.Decode([KvCommand.FormatVersion, 1, 0xAC, 0x02, 0x02, 0x01, 0xAA, 0x01, 0xBB, 2]));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(5, 1)]
    [InlineData(1, 0)]
    [InlineData(1, 5)]
    public void A_condition_with_an_unknown_target_or_op_does_not_decode(byte target, byte op)
    {
        byte[] bytes = [KvCommand.FormatVersion, 1, 1, 1, 1, 0xAA, 0, 1, target, op, 0, 0];

        Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
    }

    [Fact]
    public void Every_truncation_of_a_valid_encoding_throws_KvFormatException()
    {
        var bytes = new KvCommand(123_456, 789, KvOperation.Put, KvTestCommands.Bytes("some key"), KvTestCommands.Bytes("a value")).Encode();

        for (var length = 0; length < bytes.Length; length++)
        {
            var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes.AsSpan(0, length)));
            Assert.Contains("truncated", exception.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Random_garbage_throws_only_KvFormatException_or_decodes()
    {
        var random = new Random(20_240_601);
        for (var round = 0; round < 20_000; round++)
        {
            var garbage = new byte[random.Next(0, 40)];
            random.NextBytes(garbage);
            if (round % 2 == 0 && garbage.Length >= 2)
            {
                // Half the inputs get a valid version and operation so that decoding reaches the varints.
                garbage[0] = KvCommand.FormatVersion;
                garbage[1] = (byte)random.Next(1, 3);
            }

            try
            {
                _ = KvCommand.Decode(garbage);
            }
            catch (KvFormatException)
            {
            }
        }
    }

    [Fact]
    public void Every_single_byte_corruption_throws_only_KvFormatException_or_decodes()
    {
        var bytes = new KvCommand(5, 6, KvOperation.Delete, KvTestCommands.Bytes("key"), []).Encode();
        for (var index = 0; index < bytes.Length; index++)
        {
            for (var value = 0; value < 256; value++)
            {
                var corrupt = (byte[])bytes.Clone();
                corrupt[index] = (byte)value;
                try
                {
                    _ = KvCommand.Decode(corrupt);
                }
                catch (KvFormatException)
                {
                }
            }
        }
    }

    [Fact]
    public void Unknown_version_is_rejected_naming_the_version()
    {
        var bytes = KvTestCommands.Put(1, 1, "k", "v");
        bytes[0] = 9;

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("version 9", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(255)]
    public void Unknown_operation_is_rejected_naming_the_operation(byte operation)
    {
        var bytes = KvTestCommands.Put(1, 1, "k", "v");
        bytes[1] = operation;

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains($"operation {operation}", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_length_cut_short_is_named_by_its_field()
    {
        // Version, operation, client id 1, sequence 1, then a key length whose varint never ends.
        byte[] bytes = [KvCommand.FormatVersion, 1, 1, 1, 0x80];

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("the varint key length starting at offset 4 has no last byte", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transaction_cut_short_names_the_branch_of_the_field_and_no_branch_for_the_fields_after_them()
    {
        var txn = new KvTxn([], [KvTxnOp.Put(KvTestCommands.Bytes("some key"), KvTestCommands.Bytes("a value"))], [KvTxnOp.Delete(KvTestCommands.Bytes("other"))]);
        var bytes = new KvCommand(7, 9, KvOperation.Txn, [], []) { Txn = txn, User = "alice" }.Encode();

        var messages = Enumerable.Range(0, bytes.Length).Select(length =>
            Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes.AsSpan(0, length))).Message).ToList();

        Assert.Contains(messages, m => m.Contains("the varint success count starting", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the success key needs", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the success value needs", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the failure key needs", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the user needs", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("failure user", StringComparison.Ordinal));
    }

    [Fact]
    public void Key_length_over_KeyBytesMax_is_rejected_before_reading_the_key()
    {
        var bytes = new KvCommand(1, 1, KvOperation.Put, new byte[KvLimits.KeyBytesMax + 1], []).Encode();

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("KeyBytesMax", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Value_length_over_ValueBytesMax_is_rejected_even_when_the_bytes_are_missing()
    {
        // Only the header of the value is present: the limit must be checked before any allocation or read.
        byte[] bytes = [KvCommand.FormatVersion, 1, 1, 1, 1, 0x6B, 0x81, 0x80, 0x40];

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("ValueBytesMax", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Varint_overflowing_64_bits_is_rejected()
    {
        byte[] bytes = [KvCommand.FormatVersion, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 1, 1, 0x6B, 0];

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("overflows 64 bits", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        byte[] bytes = [.. KvTestCommands.Put(1, 1, "k", "v"), 0];

        var exception = Assert.Throws<KvFormatException>(() => KvCommand.Decode(bytes));
        Assert.Contains("trailing", exception.Message, StringComparison.Ordinal);
    }
}
