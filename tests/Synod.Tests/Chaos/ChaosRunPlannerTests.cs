using Synod.Chaos;

namespace Synod.Tests.Chaos;

/// <summary>The seeded fault schedule of `synod chaos`: what it forces early, and the limits it keeps.</summary>
public sealed class ChaosRunPlannerTests
{
    private static readonly IReadOnlySet<FaultKind> Every = new HashSet<FaultKind>(FaultKinds.All);

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
}
