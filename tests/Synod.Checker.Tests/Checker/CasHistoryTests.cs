using Synod.Checker;
using static Synod.Tests.Checker.Ops;

namespace Synod.Tests.Checker;

/// <summary>
/// Compare-and-swap in the register model: a swap needs the state it expects and writes its value; a failed compare
/// needs any other state and writes nothing; an unknown one may have swapped or not. Each rule is shown both ways: a
/// history that keeps it passes, and a deliberately broken one is rejected.
/// </summary>
public sealed class CasHistoryTests
{
    [Fact]
    public void A_chain_of_swaps_each_from_the_value_before_it_is_linearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Cas(1, "lock", null, "a", swapped: true, 0, 1),
            Get(2, "lock", "a", 2, 3),
            Cas(2, "lock", "a", "b", swapped: true, 4, 5),
            Cas(1, "lock", "a", "c", swapped: false, 6, 7),
            Get(1, "lock", "b", 8, 9),
        ]);

        Assert.True(result.Linearizable);
        Assert.Equal(5, result.OperationsChecked);
    }

    [Fact]
    public void Two_concurrent_swaps_from_absent_that_both_succeed_are_rejected()
    {
        // The double grant a compare evaluated against stale state produces: both "took the lock".
        var result = LinearizabilityChecker.Check(
        [
            Cas(1, "lock", null, "one", swapped: true, 0, 5),
            Cas(2, "lock", null, "two", swapped: true, 1, 6),
        ]);

        Assert.False(result.Linearizable);
        Assert.Equal("lock", result.FailingKey);
        Assert.Equal(2, result.Counterexample.Count);
    }

    [Fact]
    public void Concurrent_swaps_from_absent_of_which_one_fails_are_linearizable_either_way()
    {
        Assert.True(LinearizabilityChecker.Check(
        [
            Cas(1, "lock", null, "one", swapped: true, 0, 5),
            Cas(2, "lock", null, "two", swapped: false, 1, 6),
        ]).Linearizable);
        Assert.True(LinearizabilityChecker.Check(
        [
            Cas(1, "lock", null, "one", swapped: false, 0, 5),
            Cas(2, "lock", null, "two", swapped: true, 1, 6),
        ]).Linearizable);
    }

    [Fact]
    public void A_compare_that_failed_while_the_key_certainly_held_the_expected_value_is_rejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Cas(2, "k", "a", "b", swapped: false, 2, 3),
            Get(1, "k", "a", 4, 5),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void A_swap_from_a_value_the_key_never_held_is_rejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(1, "k", "a", 0, 1),
            Cas(2, "k", "x", "b", swapped: true, 2, 3),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void A_swap_whose_value_a_later_read_misses_after_it_completed_is_rejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Cas(1, "k", null, "a", swapped: true, 0, 1),
            Get(2, "k", null, 2, 3),
        ]);

        Assert.False(result.Linearizable);
    }

    [Fact]
    public void An_unknown_swap_may_have_taken_effect_or_not()
    {
        Assert.True(LinearizabilityChecker.Check([UnknownCas(1, "k", null, "a", 0), Get(2, "k", "a", 1, 2)]).Linearizable);
        Assert.True(LinearizabilityChecker.Check([UnknownCas(1, "k", null, "a", 0), Get(2, "k", null, 1, 2)]).Linearizable);
        // It could not have swapped from "x", so nobody can read its value.
        Assert.False(LinearizabilityChecker.Check([UnknownCas(1, "k", "x", "a", 0), Get(2, "k", "a", 1, 2)]).Linearizable);
    }

    [Fact]
    public void A_failed_compare_tells_the_checker_the_key_had_changed()
    {
        // c2's compare on "a" failed, so c3's put of "b" (concurrent) must come before it, and the last read sees "b".
        var history = new List<Operation>
        {
            Put(1, "k", "a", 0, 1),
            Put(3, "k", "b", 2, 8),
            Cas(2, "k", "a", "c", swapped: false, 3, 4),
            Get(1, "k", "b", 5, 6),
        };
        Assert.True(LinearizabilityChecker.Check(history).Linearizable);
        history[3] = Get(1, "k", "a", 5, 6);
        Assert.False(LinearizabilityChecker.Check(history).Linearizable);
    }

    [Fact]
    public void Cas_lines_round_trip_through_jsonl_and_a_malformed_result_is_refused_naming_the_line()
    {
        List<Operation> history = [Cas(1, "k", null, "a", swapped: true, 0, 1), Cas(2, "k", "a", "b", swapped: false, 2, 3), UnknownCas(3, "k", "b", "c", 4)];
        var text = new StringWriter();
        HistoryJsonl.Write(text, history);

        Assert.Contains("\"op\": \"cas\", \"key\": \"k\", \"expect\": null, \"value\": \"a\"", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(history, HistoryJsonl.Read(new StringReader(text.ToString())));
        var bad = "{\"client\": 1, \"op\": \"cas\", \"key\": \"k\", \"expect\": null, \"value\": \"a\", \"invoke\": 0, \"complete\": 1, \"result\": \"yes\", \"outcome\": \"ok\"}";
        var error = Assert.Throws<FormatException>(() => HistoryJsonl.Read(new StringReader(bad)));
        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("true (swapped), false (compare failed) or null", error.Message, StringComparison.Ordinal);
        var noResult = bad.Replace("\"result\": \"yes\", ", "", StringComparison.Ordinal);
        Assert.Contains("exactly when its outcome is ok", Assert.Throws<FormatException>(() => HistoryJsonl.Read(new StringReader(noResult))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_counterexample_of_a_stale_read_keeps_the_swap_that_wrote_the_value_and_the_put_that_replaced_it()
    {
        // Found by a cold review: the shrinker dropped the swap and printed a lone read, as if "a" was never written.
        var result = LinearizabilityChecker.Check(
        [
            Cas(1, "k", null, "a", swapped: true, 0, 1),
            Get(2, "k", "a", 2, 3),
            Put(3, "k", "b", 4, 5),
            Get(4, "k", "a", 6, 7),
        ]);

        Assert.False(result.Linearizable);
        Assert.Contains(result.Counterexample, op => op.Kind == OperationKind.Cas);
        Assert.Contains(result.Counterexample, op => op.Kind == OperationKind.Put && op.Value == "b");
        Assert.DoesNotContain(result.Counterexample, op => op.ClientId == 2);
    }
}
