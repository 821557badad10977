using System.Text;
using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>
/// The core's runtime invariants (docs/protocol.md, "Runtime invariants"): what one replica can see of the rules the
/// simulator's oracle checks across replicas. A peer that breaks them (a bug, or a lie) stops the replica with the
/// rule named rather than letting it apply a second value.
/// </summary>
public sealed class RuntimeInvariantTests
{
    private static readonly int[] ThreeMembers = [1, 2, 3];

    private static byte[][] Batch(string text) => [Encoding.UTF8.GetBytes(text)];

    /// <summary>Replica 1 with slot 1 chosen as "put a 1" (accepted at ballot 1.3, then the leader's commit index covers it).</summary>
    private static Replica WithSlotOneChosen()
    {
        var replica = new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers }, new SeededRandom(7));
        replica.Step(new Accept(3, 1, new Ballot(1, 3), 1, Batch("put a 1"), 1));
        var ready = replica.TakeReady();
        Assert.Equal(1, replica.CommitIndex);
        replica.Persisted(ready.Number);
        return replica;
    }

    [Fact]
    public void A_check_that_holds_formats_no_detail_and_one_that_fails_formats_it()
    {
        var probe = new FormatProbe();

        Invariant.Check(true, "a rule", $"detail {probe}");
        Assert.Equal(0, probe.Formatted);

        var broken = Assert.Throws<InvariantViolationException>(() => Invariant.Check(false, "a rule", $"detail {probe}"));
        Assert.Equal(1, probe.Formatted);
        Assert.Contains("detail formatted 1", broken.Message, StringComparison.Ordinal);
    }

    private sealed class FormatProbe
    {
        public int Formatted { get; private set; }

        public override string ToString() => $"formatted {++Formatted}";
    }

    [Fact]
    public void An_accept_of_another_value_in_a_chosen_slot_stops_the_replica_naming_the_rule()
    {
        var replica = WithSlotOneChosen();

        var broken = Assert.Throws<InvariantViolationException>(() => replica.Step(new Accept(2, 1, new Ballot(2, 2), 1, Batch("put a 2"), 0)));

        Assert.Equal("a chosen slot never changes", broken.Rule);
        Assert.Contains("slot 1", broken.Message);
        Assert.Contains("Accept from replica 2", broken.Message);
    }

    [Fact]
    public void A_catch_up_reply_with_another_value_for_a_chosen_slot_stops_the_replica()
    {
        var replica = WithSlotOneChosen();

        var broken = Assert.Throws<InvariantViolationException>(
            () => replica.Step(new CatchUpReply(2, 1, [new ChosenEntry(1, Batch("put a 2"))], 1)));

        Assert.Equal("a chosen slot never changes", broken.Rule);
        Assert.Contains("catch-up reply from replica 2", broken.Message);
    }

    [Fact]
    public void The_same_value_again_at_a_higher_ballot_is_accepted_as_paxos_requires()
    {
        var replica = WithSlotOneChosen();

        replica.Step(new Accept(2, 1, new Ballot(2, 2), 1, Batch("put a 1"), 0));
        replica.Step(new CatchUpReply(2, 1, [new ChosenEntry(1, Batch("put a 1"))], 1));

        Assert.Single(replica.TakeReady().Messages.OfType<Accepted>());
        Assert.Equal(1, replica.CommitIndex);
    }

    [Fact]
    public void A_delayed_accept_from_a_lower_ballot_with_another_value_is_no_violation()
    {
        // Seed 2561's schedule: slot 1 was chosen at a ballot this replica never heard of, and it learned the value by
        // catch-up (its promise stays low); a deposed leader's Accept from ballot 1.2, with its own value, arrives late.
        var replica = new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers }, new SeededRandom(7));
        replica.Step(new CatchUpReply(3, 1, [new ChosenEntry(1, Batch("put a 1"))], 1));
        replica.Persisted(replica.TakeReady().Number);

        replica.Step(new Accept(2, 1, new Ballot(1, 2), 1, Batch("put a 2"), 0));

        Assert.Equal(1, replica.CommitIndex);
        Assert.DoesNotContain(replica.TakeReady().PersistOps, op => op is Synod.Core.Persistence.AcceptOp);
    }

    [Fact]
    public void Batches_compare_byte_for_byte()
    {
        Assert.True(Invariant.SameCommands(Batch("x"), Batch("x")));
        Assert.False(Invariant.SameCommands(Batch("x"), Batch("y")));
        Assert.False(Invariant.SameCommands(Batch("x"), [.. Batch("x"), .. Batch("x")]));
        Assert.False(Invariant.SameCommands([], Batch("x")));
    }
}
