using Synod.Chaos;

namespace Synod.Tests.Chaos;

/// <summary>The seeded fault schedule of `synod chaos`: what it forces early, and the limits it keeps.</summary>
public sealed class ChaosRunPlannerTests
{
    private static readonly IReadOnlySet<FaultKind> Every = FaultKinds.Default();

    private static readonly IReadOnlySet<FaultKind> WithMembership = new HashSet<FaultKind>(FaultKinds.All.Except(FaultKinds.Shaping));

    [Fact]
    public void Each_enabled_kind_is_forced_once_before_any_random_fault()
    {
        var planner = new FaultPlanner(5, Every, seed: 7, runStart: 0, TimeSpan.FromSeconds(20));
        var kinds = new List<FaultKind>();
        for (var i = 0; i < 4; i++)
        {
            kinds.Add(planner.Next(new FaultPicture(1 + i, [1, 2, 3, 4, 5], 0, 0, false))!.Kind);
        }

        Assert.Equal([FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Wipe], kinds);
        Assert.False(planner.Forcing);
    }

    [Fact]
    public void A_forced_fault_waits_while_a_minority_is_already_out_of_action()
    {
        var planner = new FaultPlanner(5, Every, seed: 7, runStart: 0, TimeSpan.FromSeconds(20));

        Assert.Null(planner.Next(new FaultPicture(1, [1, 2, 3], 2, 0, false)));
        Assert.True(planner.Forcing);
        Assert.Equal(FaultKind.Kill, planner.Next(new FaultPicture(2, [1, 2, 3, 4], 1, 0, false))!.Kind);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void Minority_faults_never_take_out_more_than_n_minus_quorum_and_a_wipe_never_exceeds_the_rebuild_limit(int replicas)
    {
        var tolerated = replicas - ((replicas / 2) + 1);
        for (var seed = 0; seed < 200; seed++)
        {
            var planner = new FaultPlanner(replicas, Every, seed, runStart: 0, TimeSpan.FromSeconds(1_000));
            var random = new Random(seed);
            for (var step = 0; step < 50; step++)
            {
                var impaired = random.Next(replicas + 1);
                var healthy = Enumerable.Range(1, replicas).Skip(impaired).ToList();
                var plan = planner.Next(new FaultPicture(step, healthy, impaired, Math.Min(impaired, random.Next(tolerated + 1)), random.Next(2) == 0));
                if (plan is null || plan.Majority)
                {
                    continue;
                }

                Assert.True(impaired + plan.Victims.Count <= tolerated, $"seed={seed}: {plan} with {impaired} already impaired");
                Assert.All(plan.Victims, v => Assert.Contains(v, healthy));
            }
        }
    }

    [Fact]
    public void A_majority_fault_comes_only_when_the_cluster_is_whole_and_leaves_no_side_with_a_quorum()
    {
        var kinds = new HashSet<FaultKind>();
        for (var seed = 0; seed < 100; seed++)
        {
            var planner = new FaultPlanner(5, Every, seed, runStart: 0, TimeSpan.FromSeconds(60));
            for (var i = 0; i < 4; i++)
            {
                planner.Next(new FaultPicture(1 + i, [1, 2, 3, 4, 5], 0, 0, false));
            }

            Assert.Null(planner.Next(new FaultPicture(31, [1, 2, 3, 4], 1, 0, false)));
            var plan = planner.Next(new FaultPicture(32, [1, 2, 3, 4, 5], 0, 0, false))!;
            Assert.True(plan.Majority, $"seed={seed}: {plan}");
            kinds.Add(plan.Kind);
            if (plan.Kind == FaultKind.Partition)
            {
                Assert.All(plan.Groups!, g => Assert.True(g.Count < 3, $"seed={seed}: a side of {g.Count} replicas is a quorum"));
                Assert.Equal(5, plan.Groups!.Sum(g => g.Count));
            }
            else
            {
                Assert.True(plan.Victims.Count >= 3, $"seed={seed}: {plan}");
            }
        }

        Assert.Equal(new HashSet<FaultKind> { FaultKind.Kill, FaultKind.Pause, FaultKind.Partition }, kinds);
    }

    [Fact]
    public void The_same_seed_gives_the_same_schedule()
    {
        static string Schedule(int seed)
        {
            var planner = new FaultPlanner(5, Every, seed, runStart: 0, TimeSpan.FromSeconds(60));
            return string.Join("; ", Enumerable.Range(0, 30).Select(i => planner.Next(new FaultPicture(i, [1, 2, 3, 4, 5], 0, 0, false)))
                .Select(p => p is null ? "-" : $"{p.Kind} {string.Join(",", p.Victims)} {string.Join(",", p.HoldSeconds)}"));
        }

        Assert.Equal(Schedule(42), Schedule(42));
        Assert.NotEqual(Schedule(42), Schedule(43));
    }

    private static FaultPicture Membership(
        double now, IReadOnlyList<int> healthy, IReadOnlyList<IReadOnlyList<int>> sets, bool busy = false, int spare = 8, bool changed = false, int rebuilding = 0) =>
        new(now, healthy, sets.SelectMany(s => s).Distinct().Count(id => !healthy.Contains(id)), rebuilding, false)
        {
            VoterSets = sets,
            Members = [.. sets.SelectMany(s => s).Distinct().Order()],
            MembershipBusy = busy,
            SpareIds = spare,
            MembershipChanged = changed,
        };

    [Fact]
    public void With_the_membership_faults_a_replace_comes_before_the_wipe_and_a_resize_after_it()
    {
        var planner = new FaultPlanner(5, WithMembership, seed: 7, runStart: 0, TimeSpan.FromSeconds(60));
        int[] five = [1, 2, 3, 4, 5];
        var kinds = new List<FaultKind>();
        for (var i = 0; i < 6; i++)
        {
            kinds.Add(planner.Next(Membership(1 + i, five, [five], changed: i > 3))!.Kind);
        }

        Assert.Equal([FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Replace, FaultKind.Wipe, FaultKind.Resize], kinds);
    }

    [Fact]
    public void A_loss_and_a_delay_come_after_the_partition_take_a_minority_are_bounded_and_wait_for_the_network_to_heal()
    {
        var planner = new FaultPlanner(5, new HashSet<FaultKind> { FaultKind.Partition, FaultKind.Loss, FaultKind.Delay }, seed: 5, runStart: 0, TimeSpan.FromSeconds(60));
        int[] five = [1, 2, 3, 4, 5];
        Assert.Equal(FaultKind.Partition, planner.Next(Membership(1, five, [five]))!.Kind);
        var loss = planner.Next(Membership(2, five, [five]))!;
        Assert.Equal(FaultKind.Loss, loss.Kind);
        Assert.InRange(loss.LossPercent, 5, 40);
        Assert.InRange(loss.Victims.Count, 1, 2);
        var delay = planner.Next(Membership(3, five, [five]))!;
        Assert.Equal(FaultKind.Delay, delay.Kind);
        Assert.InRange(delay.DelayMs, 5, 50);
        Assert.InRange(delay.Victims.Count, 1, 2);
        Assert.Null(new FaultPlanner(5, new HashSet<FaultKind> { FaultKind.Loss }, seed: 5, runStart: 0, TimeSpan.FromSeconds(60)).Next(new FaultPicture(1, five, 0, 0, PartitionActive: true)));

        // Proxies carry byte streams, not packets: a run without namespaces refuses loss up front, naming the flag.
        foreach (var kind in FaultKinds.Shaping)
        {
            var refused = Assert.Throws<ArgumentException>(() => new ChaosOptions { ReplicaProgram = ["synod"], Faults = new HashSet<FaultKind> { kind } }.Validate());
            Assert.Contains("--net netns", refused.Message);
        }
    }

    [Fact]
    public void A_membership_change_waits_for_the_one_under_way_for_rebuilds_and_for_spare_ids()
    {
        int[] five = [1, 2, 3, 4, 5];
        foreach (var picture in new[]
        {
            Membership(1, five, [five], busy: true),
            Membership(1, five, [five], rebuilding: 1),
            Membership(1, five, [five], spare: 0),
        })
        {
            var planner = new FaultPlanner(5, new HashSet<FaultKind> { FaultKind.Replace }, seed: 3, runStart: 0, TimeSpan.FromSeconds(60));
            Assert.Null(planner.Next(picture));
        }

        // Growing takes two spare ids; a wipe once the membership has changed takes one (its victim is replaced).
        var grow = new FaultPlanner(5, new HashSet<FaultKind> { FaultKind.Resize }, seed: 3, runStart: 0, TimeSpan.FromSeconds(60));
        Assert.Null(grow.Next(Membership(1, five, [five], spare: 1)));
        var wipe = new FaultPlanner(5, new HashSet<FaultKind> { FaultKind.Wipe, FaultKind.Kill }, seed: 3, runStart: 0, TimeSpan.FromSeconds(60));
        Assert.Equal(FaultKind.Kill, wipe.Next(Membership(1, five, [five], changed: true, spare: 0))!.Kind);
        Assert.Null(wipe.Next(Membership(3, five, [five], changed: true, spare: 0)));
        Assert.Equal(FaultKind.Wipe, wipe.Next(Membership(5, five, [five], changed: true, spare: 1))!.Kind);
    }

    [Fact]
    public void A_resize_grows_by_two_and_then_shrinks_back_by_two_of_the_latest_voters()
    {
        var planner = new FaultPlanner(3, new HashSet<FaultKind> { FaultKind.Resize }, seed: 11, runStart: 0, TimeSpan.FromSeconds(60));
        int[] three = [1, 2, 3];
        int[] five = [1, 2, 3, 4, 5];

        var grow = planner.Next(Membership(1, three, [three]))!;
        var shrink = planner.Next(Membership(2, five, [five]))!;

        Assert.Equal(FaultKind.Resize, grow.Kind);
        Assert.Empty(grow.Victims);
        Assert.Equal(2, shrink.Victims.Count);
        Assert.All(shrink.Victims, v => Assert.Contains(v, five));
    }

    [Fact]
    public void While_two_voter_sets_may_govern_faults_leave_a_healthy_quorum_of_each()
    {
        int[] before = [1, 2, 3];
        int[] after = [1, 2, 3, 4];
        for (var seed = 0; seed < 200; seed++)
        {
            var planner = new FaultPlanner(3, new HashSet<FaultKind> { FaultKind.Kill, FaultKind.Pause, FaultKind.Partition }, seed, runStart: 0, TimeSpan.FromSeconds(1_000));
            var random = new Random(seed);
            for (var step = 0; step < 50; step++)
            {
                var healthy = after.Where(_ => random.Next(4) > 0).ToList();
                var picture = Membership(step, healthy, [before, after]);
                if (planner.Next(picture) is not { Majority: false } plan)
                {
                    continue;
                }

                var left = healthy.Except(plan.Victims).ToList();
                Assert.True(left.Count(before.Contains) >= 2 && left.Count(after.Contains) >= 3, $"seed={seed}: {plan} with healthy {string.Join(",", healthy)}");
            }
        }
    }
}
