using Synod.Kv;

namespace Synod.Tests.Kv;

public sealed class KvCommandValidationTests
{
    [Theory]
    [InlineData(KvCompareTarget.Version, -1L, 0, "must lie in 0..")]
    [InlineData(KvCompareTarget.ModRevision, (1L << 53) + 1, 0, "must lie in 0..")]
    [InlineData(KvCompareTarget.Version, 1L, 3, "carries no value bytes")]
    [InlineData(KvCompareTarget.Value, 2L, 0, "carries number 0")]
    public void A_condition_out_of_its_range_is_invalid_with_a_sentence_that_says_why(KvCompareTarget target, long number, int valueBytes, string expected)
    {
        var command = new KvCommand(1, 1, KvOperation.Put, [1], []) { Condition = new KvCondition(target, KvCompareOp.Equal, number, new byte[valueBytes]) };

        Assert.Contains(expected, command.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_registration_may_not_carry_a_condition()
    {
        var command = new KvCommand(0, 1, KvOperation.Register, [], []) { Condition = KvCondition.Absent };

        Assert.Contains("Only a put or a delete", command.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_key_is_invalid()
    {
        var problem = new KvCommand(1, 1, KvOperation.Put, [], [1]).Validate();

        Assert.NotNull(problem);
        Assert.Contains("empty", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_of_KeyBytesMax_plus_one_is_invalid_and_the_message_gives_both_sizes()
    {
        var problem = new KvCommand(1, 1, KvOperation.Put, new byte[KvLimits.KeyBytesMax + 1], []).Validate();

        Assert.NotNull(problem);
        Assert.Contains("KeyBytesMax", problem, StringComparison.Ordinal);
        Assert.Contains($"{KvLimits.KeyBytesMax + 1}", problem, StringComparison.Ordinal);
        Assert.Contains($"{KvLimits.KeyBytesMax}", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Value_of_ValueBytesMax_plus_one_is_invalid_and_the_message_names_the_limit()
    {
        var problem = new KvCommand(1, 1, KvOperation.Put, [1], new byte[KvLimits.ValueBytesMax + 1]).Validate();

        Assert.NotNull(problem);
        Assert.Contains("ValueBytesMax", problem, StringComparison.Ordinal);
        Assert.Contains($"{KvLimits.ValueBytesMax + 1}", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Sequence_0_is_invalid_because_sequences_start_at_1()
    {
        var problem = new KvCommand(1, 0, KvOperation.Put, [1], []).Validate();

        Assert.NotNull(problem);
        Assert.Contains("sequence is 0", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Delete_with_a_value_is_invalid()
    {
        var problem = new KvCommand(1, 1, KvOperation.Delete, [1], [2]).Validate();

        Assert.NotNull(problem);
        Assert.Contains("Delete", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Undefined_operation_is_invalid()
    {
        Assert.NotNull(new KvCommand(1, 1, (KvOperation)7, [1], []).Validate());
    }

    [Fact]
    public void Exact_maxima_are_valid()
    {
        var command = new KvCommand(ulong.MaxValue, ulong.MaxValue, KvOperation.Put, new byte[KvLimits.KeyBytesMax], new byte[KvLimits.ValueBytesMax]);

        Assert.Null(command.Validate());
        Assert.Null(new KvCommand(1, 1, KvOperation.Put, [1], []).Validate());
    }
}
