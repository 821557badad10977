using Synod.Client;
using Synod.Protocol;
using Synod.Tests.Cluster;

namespace Synod.Tests.Chaos;

/// <summary>Real `synod serve` processes whose peer traffic goes through a <see cref="Synod.Chaos.PartitionNetwork"/>.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class PartitionedClusterTests
{
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_leader_cut_off_both_ways_is_replaced_by_the_majority_and_after_healing_all_three_agree()
    {
        await using var cluster = new PartitionedReplicas(3);
        int[] all = [1, 2, 3];
        var before = await cluster.WaitForAsync(all, s => LeaderAgreedBy(s) is not null, "a first leader that all three follow", StepLimit);
        var oldLeader = LeaderAgreedBy(before)!.Value;
        await cluster.Client.PutAsync("before", "1", SynodCallOptions.Pinned(oldLeader - 1));
        int[] majority = [.. all.Where(id => id != oldLeader)];

        cluster.Network.Cut([oldLeader], majority);

        var during = await cluster.WaitForAsync(
            majority, s => LeaderAgreedBy(s) is { } leader && leader != oldLeader, $"a new leader among {string.Join(",", majority)}", StepLimit);
        var newLeader = LeaderAgreedBy(during)!.Value;
        await cluster.Client.PutAsync("during", "2", SynodCallOptions.Pinned(newLeader - 1));
        Assert.True(majority.Sum(id => cluster.Network.Proxy(oldLeader, id).Counters.ConnectionsCut) > 0, cluster.Network.ToString());

        cluster.Network.HealAll();

        var after = await cluster.WaitForAsync(
            all,
            s => LeaderAgreedBy(s) is { } leader && s.Values.Select(r => r.AppliedSlot).Distinct().Count() == 1 && s[leader].AppliedSlot >= s[leader].CommitIndex,
            "one leader followed by all three, every replica applied up to its commit index",
            StepLimit);
        Assert.Equal("follower", after[oldLeader].Role);
        Assert.Equal("2", (await cluster.Client.GetAsync("during", options: SynodCallOptions.Pinned(oldLeader - 1))).ValueAsString());
    }

    /// <summary>The leader's id if exactly one replica says it leads and every replica names it; otherwise null.</summary>
    private static int? LeaderAgreedBy(IReadOnlyDictionary<int, StatusResponse> statuses)
    {
        var leaders = statuses.Where(s => s.Value.Role == "leader").Select(s => s.Key).ToList();
        return leaders.Count == 1 && statuses.Values.All(s => s.LeaderId == leaders[0]) ? leaders[0] : null;
    }
}
