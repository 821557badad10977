using Synod.Core;
using Synod.Explorer;

namespace Synod.Tests.Exploration;

/// <summary>
/// The bounded explorer on a small budget (3 replicas, 2 slots): every schedule within the depth bound, real cores,
/// the simulator's SafetyOracle after every step. The budget is a depth and a number of states, never a time.
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
