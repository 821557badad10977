using System.Text.Json;
using Synod.Server;

namespace Synod.Tests.Server;

/// <summary>
/// The garbage collector's mode of a replica process: blocking full collections for a small heap, background ones
/// past serve --background-gc-heap-bytes (docs/operations.md, "Large states"); MetricsTests sees the switch on real
/// replicas.
/// </summary>
public sealed class CollectorModeTests
{
    [Fact]
    public void Full_collections_go_to_the_background_from_the_heap_threshold_and_come_back_only_below_half_of_it()
    {
        const long GiB = 1L << 30;
        Assert.False(CollectorMode.ShouldCollectInBackground(GiB - 1, GiB, background: false));
        Assert.True(CollectorMode.ShouldCollectInBackground(GiB, GiB, background: false));
        // Once switched, a heap that shrinks a little after a collection keeps the mode: no flipping at every check.
        Assert.True(CollectorMode.ShouldCollectInBackground(GiB / 2, GiB, background: true));
        Assert.False(CollectorMode.ShouldCollectInBackground((GiB / 2) - 1, GiB, background: true));
        Assert.True(CollectorMode.ShouldCollectInBackground(0, 0, background: false));
    }

    [Fact]
    public void The_synod_executable_has_the_concurrent_collector_and_the_non_concurrent_youngest_generation_budget()
    {
        // Without the first the switch does nothing; without the second a small state loses requests (the runtime caps
        // gen0's budget at 6 MiB when the concurrent collector is on).
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "synod.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
        Assert.Equal(128L * 1024 * 1024, properties.GetProperty("System.GC.Gen0MaxBudget").GetInt64());
    }

    [Fact]
    public void A_slow_pass_names_the_full_blocking_collection_that_came_in_it()
    {
        var before = GC.CollectionCount(0);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

        var named = ReplicaHost.CollectionsSince(before);

        Assert.Contains("the last of each kind in it: a full blocking collection of generation 2, compacting, paused ", named, StringComparison.Ordinal);
    }
}
