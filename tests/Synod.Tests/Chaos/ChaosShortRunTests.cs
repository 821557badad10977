using Synod.Chaos;
using Synod.Tests.Cluster;
using Xunit.Abstractions;

namespace Synod.Tests.Chaos;

/// <summary>
/// `synod chaos` end to end, in process: five real replica processes, every fault kind at least once (the planner
/// forces each enabled kind early), clients of every workload throughout (register, compare-and-swap, bank, watch, lock), then
/// heal, convergence, the linearizability check, the bank's invariant, the watchers' changes and the fenced counter.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class ChaosShortRunTests(ITestOutputHelper output)
{
    private const int Seed = 20_251_124;

    [Fact]
    public async Task A_short_run_that_kills_restarts_wipes_pauses_and_partitions_replicas_stays_linearizable_and_converges()
    {
        var options = new ChaosOptions
        {
            Replicas = 5,
            Duration = TimeSpan.FromSeconds(16),
            Seed = Seed,
            Clients = 6,
            ReplicaProgram = ["dotnet", Path.Combine(AppContext.BaseDirectory, "synod.dll")],
            ConvergenceTimeout = TimeSpan.FromSeconds(20),
            CheckBudget = TimeSpan.FromSeconds(30),
        };
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        var result = await new ChaosRunner(options).RunAsync(limit.Token);

        output.WriteLine(ChaosSummary.Render(result));
        Assert.True(result.Passed, $"seed={Seed}: {string.Join(" ", result.Problems)} Evidence kept in {result.OutDir}.");
        Assert.True(result.Linearizable);
        Assert.NotNull(result.ConvergenceSeconds);
        Assert.True(result.Faults.Kills >= 1, "no kill happened");
        Assert.True(result.Faults.Restarts >= 1, "no restart happened");
        Assert.True(result.Faults.Wipes >= 1, "no wipe happened");
        if (FaultKinds.Supported().Contains(FaultKind.Pause))
        {
            Assert.True(result.Faults.Pauses >= 1, "no pause happened");
        }

        Assert.True(result.Faults.Partitions >= 1, "no partition happened");
        Assert.True(result.OperationsOk > 0, "no client operation succeeded");
        Assert.Contains(result.History, op => op.Kind == Synod.Checker.OperationKind.Cas && op.Swapped is not null);
        Assert.True(result.BankReads > 0 && result.BankTransfers > 0, $"the bank read {result.BankReads} times and moved money {result.BankTransfers} times");
        Assert.True(result.WatchChanges > 0, "the watchers reported no change");
        Assert.True(result.LockIncrements > 0, $"the lock clients took {result.LockAcquired} locks and applied no fenced increment");
        Assert.Contains(result.Timeline, e => e.Kind == "rebuilt");
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_short_run_that_replaces_and_resizes_voters_while_killing_wiping_and_partitioning_stays_linearizable_and_converges()
    {
        var options = new ChaosOptions
        {
            Replicas = 3,
            // The forced replace, the wiped voter's replace and the resize run one after another, 10-15 s each on a
            // loaded machine.
            Duration = TimeSpan.FromSeconds(45),
            Seed = Seed,
            Clients = 6,
            Workloads = ChaosWorkload.Register | ChaosWorkload.Cas | ChaosWorkload.Bank,
            Faults = new HashSet<FaultKind> { FaultKind.Kill, FaultKind.Restart, FaultKind.Wipe, FaultKind.Partition, FaultKind.Replace, FaultKind.Resize },
            ReplicaProgram = ["dotnet", Path.Combine(AppContext.BaseDirectory, "synod.dll")],
            ConvergenceTimeout = TimeSpan.FromSeconds(40),
            CheckBudget = TimeSpan.FromSeconds(30),
        };
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(300));

        var result = await new ChaosRunner(options).RunAsync(limit.Token);

        output.WriteLine(ChaosSummary.Render(result));
        Assert.True(result.Passed, $"seed={Seed}: {string.Join(" ", result.Problems)} Evidence kept in {result.OutDir}.");
        Assert.True(result.Linearizable);
        Assert.True(result.Faults.Replaces >= 2, $"replaces {result.Faults.Replaces}: the forced one and the wiped voter's");
        Assert.True(result.Faults.Resizes >= 1, "no resize happened");
        Assert.True(result.MembershipChanges >= 3, $"{result.MembershipChanges} membership changes completed");
        Assert.Contains(result.Timeline, e => e.Kind == "wipe" && e.Detail.Contains("replaced rather than rebuilt", StringComparison.Ordinal));
        Assert.Contains(result.Timeline, e => e.Kind == "stopped");
        Assert.Contains(result.FinalMembers, id => id > 3);
        Assert.True(result.BankReads > 0 && result.BankTransfers > 0, $"the bank read {result.BankReads} times and moved money {result.BankTransfers} times");
    }
}
