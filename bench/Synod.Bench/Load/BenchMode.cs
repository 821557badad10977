namespace Synod.Bench;

/// <summary>What each operation of a benchmark is.</summary>
public enum BenchMode
{
    /// <summary>Every operation writes a random key of the key space.</summary>
    Put,

    /// <summary>Linearizable reads (Synod: read index confirmed by a quorum; etcd: its default linearizable range).</summary>
    Get,

    /// <summary>Reads answered by the contacted member from what it has (Synod: stale; etcd: serializable).</summary>
    GetStale,

    /// <summary>Linearizable reads and puts, mixed by the read ratio.</summary>
    Mixed,
}
