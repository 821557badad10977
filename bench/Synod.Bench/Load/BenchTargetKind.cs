namespace Synod.Bench;

/// <summary>Which system the benchmark drives. The generator is the same for all; only the calls differ.</summary>
public enum BenchTargetKind
{
    /// <summary>A Synod cluster, through <see cref="Synod.Client.SynodClient"/>.</summary>
    Synod,

    /// <summary>An etcd cluster, through the dotnet-etcd client.</summary>
    Etcd,

    /// <summary>`synod bench-echo`: Synod's client API answered at once, no consensus or disk — the gRPC ceiling.</summary>
    Echo,
}
