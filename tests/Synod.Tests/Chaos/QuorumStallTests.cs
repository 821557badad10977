using Synod.Checker;
using Synod.Chaos;

namespace Synod.Tests.Chaos;

/// <summary>
/// Issue 13, finding 3: a chaos run whose replicas were all up stopped writing for eight minutes and still passed.
/// A stretch with no successful write while the planner saw a quorum healthy now fails the run past WriteStallMax.
/// </summary>
public sealed class QuorumStallTests
{
    private static readonly int[] AllFive = [1, 2, 3, 4, 5];

    [Fact]
    public void Only_time_with_a_healthy_quorum_counts_and_a_write_ends_the_stretch()
    {
        // Writes at 1 and 40; a quorum is healthy except from 10 to 20 (a majority partition).
        Operation[] history =
        [
            new(1, OperationKind.Put, "k", "a", null, 0.5, 1.0, Outcome.Ok),
            new(1, OperationKind.Get, "k", null, "a", 2, 30, Outcome.Ok),
            new(2, OperationKind.Put, "k", "b", null, 2, null, Outcome.Unknown),
            new(2, OperationKind.Put, "k", "c", null, 39, 40, Outcome.Ok),
        ];
        var samples = Enumerable.Range(0, 51).Select(t => Picture(t, t is >= 10 and < 20 ? [1, 2] : AllFive)).ToList();

        var stall = QuorumStall.Longest(history, samples, replicas: 5, start: 0, end: 50);

        Assert.NotNull(stall);
        Assert.Equal(20, stall.From);
        Assert.Equal(40, stall.To);
    }

    [Fact]
    public void While_a_membership_change_is_under_way_a_quorum_counts_only_if_it_is_one_of_every_voter_set_that_may_govern()
    {
        // From 10 to 20 the voters grow from 1,2,3 to 1,2,3,4,5 and only 1,4,5 are healthy: a quorum of the new set, not
        // of the old one, which may still govern; no write then is no stall.
        Operation[] history = [new(1, OperationKind.Put, "k", "a", null, 0.5, 1.0, Outcome.Ok), new(1, OperationKind.Put, "k", "b", null, 29, 30, Outcome.Ok)];
        var samples = Enumerable.Range(0, 31).Select(t => t is >= 10 and < 20
            ? Picture(t, [1, 4, 5]) with { VoterSets = [[1, 2, 3], [1, 2, 3, 4, 5]] }
            : Picture(t, [1, 2, 3])).ToList();

        var stall = QuorumStall.Longest(history, samples, replicas: 3, start: 0, end: 30);

        Assert.NotNull(stall);
        Assert.Equal(20, stall.From);
        Assert.Equal(30, stall.To);
    }

    [Fact]
    public void A_run_that_stopped_writing_with_every_replica_healthy_fails_and_names_what_was_in_force()
    {
        var samples = Enumerable.Range(0, 601).Select(t => Picture(t, AllFive, rebuilding: t < 300 ? 1 : 0)).ToList();
        Operation[] history = [new(1, OperationKind.Put, "k", "a", null, 0.5, 1.0, Outcome.Ok)];
        var stall = QuorumStall.Longest(history, samples, replicas: 5, start: 0, end: 600);

        var result = Result(stall);

        Assert.False(result.Passed);
        var problem = Assert.Single(result.Problems);
        Assert.Contains("no write succeeded for 599.0 s", problem, StringComparison.Ordinal);
        Assert.Contains("WriteStallMax (30 s)", problem, StringComparison.Ordinal);
        Assert.Contains("healthy replicas 1,2,3,4,5", problem, StringComparison.Ordinal);

        // A stretch within the bound passes.
        Assert.True(Result(new QuorumStall(1, 20, samples[1])).Passed);
    }

    private static FaultPicture Picture(double now, int[] healthy, int rebuilding = 0) =>
        new(now, healthy, 5 - healthy.Length, rebuilding, PartitionActive: healthy.Length < 5);

    private static ChaosResult Result(QuorumStall? stall) => new()
    {
        Options = new ChaosOptions { ReplicaProgram = ["synod"] },
        OperationsOk = 1,
        OperationsFailed = 0,
        OperationsUnknown = 0,
        Faults = new FaultCounts(0, 0, 0, 0, 0, 0, 0),
        WorkloadStart = 0,
        WorkloadEnd = 600,
        LongestWriteGap = new WriteGap(1, 600),
        LongestQuorumStall = stall,
        ConvergenceSeconds = 0.5,
        Divergence = null,
        ConvergedSlot = 10,
        ConvergedKeys = 1,
        Linearizable = true,
        OperationsChecked = 1,
        Counterexample = "",
        History = [],
        Timeline = [],
        OutDir = null,
    };
}
