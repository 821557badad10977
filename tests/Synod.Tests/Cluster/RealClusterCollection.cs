namespace Synod.Tests.Cluster;

/// <summary>
/// Heavy tests run one at a time: a real cluster's five replica processes already share two cores, and the
/// simulation tests use every core; together they would starve the replicas into spurious elections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealClusterCollection
{
    public const string Name = "real cluster";
}
