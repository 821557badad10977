namespace Synod.Tests.Cluster;

/// <summary>Real-cluster tests run one at a time: five replica processes each already share two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealClusterCollection
{
    public const string Name = "real cluster";
}
