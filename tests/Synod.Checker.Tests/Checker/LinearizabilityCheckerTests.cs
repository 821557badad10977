using Synod.Checker;
using static Synod.Tests.Checker.Ops;

namespace Synod.Tests.Checker;

public sealed class LinearizabilityCheckerTests
{
    [Fact]
    public void Sequential_history_that_follows_the_register_is_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Get(1, "k", null, 0, 1),
            Put(1, "k", "a", 2, 3),
            Get(2, "k", "a", 4, 5),
            Put(2, "k", "b", 6, 7),
            Get(1, "k", "b", 8, 9),
        ]);

        Assert.True(result.Linearizable);
        Assert.False(result.TimedOut);
        Assert.Equal(5, result.OperationsChecked);
        Assert.Null(result.FailingKey);
        Assert.Empty(result.Counterexample);
    }

    [Fact]
    public void Register_starts_absent_so_a_first_read_of_a_value_is_not_linearizable()
    {
        var result = LinearizabilityChecker.Check([Get(1, "k", "a", 0, 1), Put(1, "k", "a", 2, 3)]);

        Assert.False(result.Linearizable);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void Get_concurrent_with_a_put_may_see_either_the_old_or_the_new_value(string seen)
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Put(1, "k", "b", 2, 5),
            Get(2, "k", seen, 3, 4),
        ]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Stale_read_after_a_completed_overwrite_is_not_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Put(1, "k", "b", 2, 3),
            Get(2, "k", "a", 4, 5),
        ]);

        Assert.False(result.Linearizable);
        Assert.False(result.TimedOut);
        Assert.Equal("k", result.FailingKey);
        Assert.Equal([Put(1, "k", "a", 0, 1), Put(1, "k", "b", 2, 3), Get(2, "k", "a", 4, 5)], result.Counterexample);
    }

    [Fact]
    public void Read_that_sees_a_value_before_its_write_is_invoked_is_not_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Get(2, "k", "a", 0, 1),
            Put(1, "k", "a", 2, 3),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Read_of_a_value_never_written_is_not_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Get(2, "k", "zzz", 2, 3),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Unknown_write_may_take_effect_after_the_client_gave_up()
    {
        // The put's client timed out at about 1; the write landed later, between the two reads.
        var result = LinearizabilityChecker.Check(
        [
            UnknownPut(1, "k", "a", 0),
            Get(2, "k", null, 5, 6),
            Get(2, "k", "a", 10, 11),
            Get(3, "k", "a", 12, 13),
        ]);

        Assert.True(result.Linearizable);
        Assert.Equal(4, result.OperationsChecked);
    }

    [Fact]
    public void Unknown_write_that_nobody_sees_is_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            UnknownPut(1, "k", "b", 2),
            Get(2, "k", "a", 5, 6),
            UnknownDelete(2, "k", 7),
            Get(3, "k", "a", 8, 9),
        ]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Unknown_delete_may_take_effect_after_the_client_gave_up()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            UnknownDelete(1, "k", 2),
            Get(2, "k", "a", 3, 4),
            Get(2, "k", null, 5, 6),
            Get(3, "k", null, 7, 8),
        ]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Unknown_delete_cannot_be_undone_without_a_later_write()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            UnknownDelete(1, "k", 2),
            Get(2, "k", null, 5, 6),
            Get(3, "k", "a", 7, 8),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Unknown_write_takes_effect_at_most_once()
    {
        // "a" may land after "b", but then nothing writes "b" again, so reading "b" after "a" is impossible.
        var result = LinearizabilityChecker.Check(
        [
            UnknownPut(1, "k", "a", 0),
            Put(2, "k", "b", 1, 2),
            Get(3, "k", "a", 3, 4),
            Get(3, "k", "b", 5, 6),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Unknown_write_of_a_value_also_written_by_another_put_may_supply_a_later_read()
    {
        var result = LinearizabilityChecker.Check(
        [
            UnknownPut(1, "k", "a", 0),
            Put(2, "k", "a", 1, 2),
            Put(2, "k", "b", 3, 4),
            Get(3, "k", "a", 5, 6),
        ]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Unknown_get_is_dropped_because_a_read_has_no_effect()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            UnknownGet(2, "k", 2),
            Get(2, "k", "a", 3, 4),
        ]);

        Assert.True(result.Linearizable);
        Assert.Equal(2, result.OperationsChecked);
    }

    [Fact]
    public void Delete_then_get_reads_absent()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Delete(1, "k", 2, 3),
            Get(2, "k", null, 4, 5),
        ]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Get_after_a_completed_delete_that_sees_the_old_value_is_not_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Delete(1, "k", 2, 3),
            Get(2, "k", "a", 4, 5),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Failed_write_that_is_never_observed_is_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            FailedPut(2, "k", "b", 2, 3),
            Get(3, "k", "a", 4, 5),
        ]);

        Assert.True(result.Linearizable);
        Assert.Equal(2, result.OperationsChecked);
    }

    [Fact]
    public void Failed_write_that_is_observed_is_not_linearizable_because_fail_means_no_effect()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            FailedPut(2, "k", "b", 2, 3),
            Get(3, "k", "b", 4, 5),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void Operations_that_touch_at_one_instant_are_concurrent()
    {
        // The get is invoked at the instant the put completes; either order is allowed.
        var result = LinearizabilityChecker.Check([Put(1, "k", "a", 0, 1), Get(2, "k", null, 1, 2)]);

        Assert.True(result.Linearizable);
    }

    [Fact]
    public void Keys_are_checked_independently_and_the_violating_key_is_named()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k1", "a", 0, 1),
            Put(1, "k2", "x", 0, 1),
            Get(2, "k1", "a", 2, 3),
            Put(1, "k2", "y", 2, 3),
            Get(2, "k2", "x", 4, 5),
            Put(3, "k3", "p", 4, 5),
            Get(3, "k1", "a", 6, 7),
        ]);

        Assert.False(result.Linearizable);
        Assert.Equal("k2", result.FailingKey);
        Assert.All(result.Counterexample, op => Assert.Equal("k2", op.Key));
    }

    [Fact]
    public void Counterexample_is_short_and_is_itself_not_linearizable()
    {
        var history = new List<Operation>();
        for (var i = 0; i < 40; i++)
        {
            history.Add(Put(1, "k", $"v{i}", 10 * i, (10 * i) + 1));
            history.Add(Get(2, "k", $"v{i}", (10 * i) + 2, (10 * i) + 3));
        }
        // A stale read in the middle of an otherwise clean history.
        history.Add(Get(3, "k", "v3", 100.5, 100.7));

        var result = LinearizabilityChecker.Check(history);

        Assert.False(result.Linearizable);
        Assert.NotEmpty(result.Counterexample);
        Assert.True(result.Counterexample.Count <= 4, LinearizabilityChecker.Describe(result.Counterexample));
        Assert.False(LinearizabilityChecker.Check(result.Counterexample).Linearizable);
    }

    [Fact]
    public void Read_inversion_found_by_search_yields_a_short_counterexample_that_itself_fails()
    {
        // Values repeat, so no shortcut applies and the violation has to be found by exhausting the search.
        var history = new List<Operation>();
        for (var i = 0; i < 30; i++)
        {
            history.Add(Put(1, "k", i % 2 == 0 ? "a" : "b", 10 * i, (10 * i) + 1));
            history.Add(Get(2, "k", i % 2 == 0 ? "a" : "b", (10 * i) + 2, (10 * i) + 3));
        }
        // While "b" is being written, one reader sees it and a later reader still sees the older "a".
        history.Add(Put(1, "k", "a", 400, 401));
        history.Add(Put(1, "k", "b", 402, 410));
        history.Add(Get(2, "k", "b", 403, 404));
        history.Add(Get(3, "k", "a", 405, 406));

        var result = LinearizabilityChecker.Check(history);

        Assert.False(result.Linearizable);
        Assert.Equal("k", result.FailingKey);
        Assert.InRange(result.Counterexample.Count, 1, 6);
        Assert.Contains(Get(3, "k", "a", 405, 406), result.Counterexample);
        Assert.False(LinearizabilityChecker.Check(result.Counterexample).Linearizable, LinearizabilityChecker.Describe(result.Counterexample));
    }

    [Fact]
    public void Malformed_operation_is_rejected_with_a_sentence_that_names_it()
    {
        var completedWithoutTime = new Operation(4, OperationKind.Put, "k", "a", null, 1, null, Outcome.Ok);

        var error = Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check([Put(1, "k", "a", 0, 1), completedWithoutTime]));

        Assert.Contains("history[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains("completion time", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_renders_one_operation_per_line_sorted_by_invocation()
    {
        var text = LinearizabilityChecker.Describe(
        [
            UnknownPut(1, "k1", "v9", 2),
            Put(3, "k1", "v7", 1.25, 1.5),
            Get(2, "k1", "v7", 1.5, 1.75),
        ]);

        var expected =
            "c3 put k1=v7    [1.250, 1.500] ok\n" +
            "c2 get k1 -> v7 [1.500, 1.750] ok\n" +
            "c1 put k1=v9    [2.000, ∞] unknown\n";
        Assert.Equal(expected, text);
    }
}
