using Synod.Core;
using Synod.Explorer;

namespace Synod.Tests.Exploration;

/// <summary>
/// The bounded explorer on a small budget: the step-by-step search on 3 replicas and 2 slots (every schedule within the depth
/// bound), and the interrupted-election search on 5 replicas (every combination within its bound); real cores, the simulator's
/// SafetyOracle after every step. The budget is a depth and a number of states or episodes, never a time.
/// </summary>
public sealed class ExplorerTests
{
    private static readonly ExplorerOptions SmallBudget = new()
    {
        Replicas = 3,
        Slots = 2,
        DepthMax = 6,
        StatesMax = 50_000,
    };

    /// <summary>
    /// The interrupted-election search at its default bound (docs/protocol.md, "Exhaustive exploration"): five replicas (neither
    /// of issue 13's findings has a schedule on fewer), the canonical interruption, every combination of up to 3 episodes of the
    /// others (a disk loss, a write with one replica left out, a snapshot) and up to 2 reconnections.
    /// </summary>
    private static readonly ExplorerOptions InterruptedBudget = ExplorerOptions.InterruptedElection;

    [Fact]
    public void I15_without_its_fix_the_interrupted_election_search_finds_a_candidate_that_installs_a_snapshot_and_leads_on_its_older_phase_1()
    {
        var result = new InterruptedElectionSearch(InterruptedBudget with { Bugs = ProtocolBugs.CandidateInstallsSnapshot }).Run();

        Assert.NotNull(result.Violation);
        Assert.Contains("applied with different values", result.Violation);
        Assert.Contains("[no-op]", result.Violation);
        Assert.Contains("r5 installs a snapshot", result.Schedule);
    }

    [Fact]
    public void I16_without_its_fix_the_interrupted_election_search_finds_a_promise_of_a_lost_life_counted_after_a_floor_member_was_rebuilt()
    {
        var result = new InterruptedElectionSearch(InterruptedBudget with { Bugs = ProtocolBugs.RebuildForgetsLives }).Run();

        // Two values applied, or a replica's runtime invariant stopping it before it accepts the second.
        Assert.NotNull(result.Violation);
        Assert.True(
            result.Violation.Contains("applied with different values", StringComparison.Ordinal) || result.Violation.Contains("a chosen slot never changes", StringComparison.Ordinal),
            result.Violation);
        Assert.Equal(2, result.Schedule!.Split('\n').Count(line => line.Contains(". disk-loss", StringComparison.Ordinal)));
    }

    [Fact]
    public void I8_I15_I16_with_every_fix_on_the_interrupted_election_search_exhausts_its_bound_without_a_violation()
    {
        var result = new InterruptedElectionSearch(InterruptedBudget).Run();

        Assert.Null(result.Violation);
        Assert.True(result.Exhausted, $"the default bound should be covered whole: {result.Summary}");
        Assert.Equal(InterruptedBudget.EpisodesMax + InterruptedBudget.ReconnectsMax, result.DepthReached);
    }

    [Fact]
    public void I8_no_schedule_within_the_small_budget_applies_two_different_batches_in_one_slot()
    {
        var options = SmallBudget with { DepthMax = 5 };

        var result = new ScheduleExplorer(options).Run();

        Assert.Null(result.Violation);
        Assert.True(result.Exhausted, $"the small budget should cover every schedule to depth {options.DepthMax}: {result.Summary}");
        Assert.Equal(options.DepthMax, result.DepthReached);
    }

    [Fact]
    public void I8_with_every_fault_switched_on_the_small_budget_finds_no_violation()
    {
        var options = SmallBudget with
        {
            DepthMax = 4,
            Faults = ExplorerFaults.Crash | ExplorerFaults.Drop | ExplorerFaults.Duplicate | ExplorerFaults.DiskLoss | ExplorerFaults.Snapshot,
        };

        var result = new ScheduleExplorer(options).Run();

        Assert.Null(result.Violation);
    }

    [Theory]
    [InlineData("small-quorum")]
    public void I10_a_quorum_smaller_than_a_majority_is_found_with_its_shortest_schedule(string bugName)
    {
        Assert.True(ProtocolBugCatalog.TryParse(bugName, out var bug));

        var result = new ScheduleExplorer(SmallBudget with { Bugs = bug }).Run();

        Assert.NotNull(result.Violation);
        Assert.Contains("applied with different values", result.Violation);
        Assert.NotNull(result.Schedule);
        Assert.Contains("VIOLATION", result.Schedule);
        Assert.True(result.ScheduleLength <= SmallBudget.DepthMax);
    }
}
