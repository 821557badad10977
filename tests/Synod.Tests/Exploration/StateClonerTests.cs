using Synod.Core;
using Synod.Explorer;

namespace Synod.Tests.Exploration;

/// <summary>
/// The interrupted-election search branches from copies of a state (<see cref="StateCloner"/>) instead of replaying schedules,
/// so a copy must step exactly as its source would, and stepping it must leave its source alone; otherwise a search could
/// report a schedule that the real cores do not follow.
/// </summary>
public sealed class StateClonerTests
{
    private static readonly ExplorerOptions Options = ExplorerOptions.InterruptedElection;

    [Fact]
    public void A_copy_hashes_as_its_source_and_steps_as_its_source_does()
    {
        var source = Interrupted();
        var copy = source.Clone();
        Assert.Equal(source.Hash(), copy.Hash());

        foreach (var cluster in new[] { source, copy })
        {
            cluster.Act(StepKind.DiskLoss, 2);
            cluster.Settle([1, 2, 3, 4], Options.SettleTicks);
            cluster.Act(StepKind.Propose, 3);
            cluster.Settle([2, 3, 4], Options.SettleTicks);
            cluster.TickAlone(1, m => m is Synod.Core.Messages.PreVote, Options.TimeoutTicksMax);
            cluster.Exchange(5, 1);
        }

        Assert.Null(source.Violation);
        Assert.Equal(source.Hash(), copy.Hash());
        Assert.Equal(source.Status(), copy.Status());
    }

    [Fact]
    public void Stepping_a_copy_leaves_its_source_untouched()
    {
        var source = Interrupted();
        var before = source.Hash();
        var statusBefore = source.Status();

        var copy = source.Clone();
        copy.Act(StepKind.Crash, 4);
        copy.Act(StepKind.Propose, 1);
        copy.Settle([1, 2, 3, 4], Options.SettleTicks);
        copy.Exchange(5, 2);

        Assert.NotEqual(before, copy.Hash());
        Assert.Equal(before, source.Hash());
        Assert.Equal(statusBefore, source.Status());
    }

    /// <summary>Replica 5 stands with pre-votes from 1 and 2 and a promise from 2; its Prepares to 1, 3 and 4 stay in flight.</summary>
    private static ExploredCluster Interrupted()
    {
        var cluster = new ExploredCluster(Options);
        cluster.Act(StepKind.Propose, 5);
        cluster.TickAlone(5, m => m is Synod.Core.Messages.PreVote, Options.TimeoutTicksMax);
        cluster.DeliverLink(5, 1);
        cluster.DeliverLink(5, 2);
        cluster.DeliverLink(1, 5);
        cluster.DeliverLink(2, 5);
        cluster.DeliverLink(5, 2);
        cluster.DeliverLink(2, 5);
        Assert.Equal(ReplicaRole.Candidate, cluster.Core(5).Role);
        return cluster;
    }
}
