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

    /// <summary>
    /// Compare-and-swaps: each writes a random key only if its mod revision is the one this worker last saw of it (one
    /// request: Synod's conditional put, etcd's txn with a put on success and a get on failure); a failed compare is a
    /// completed operation too.
    /// </summary>
    Cas,

    /// <summary>Linearizable range reads of <see cref="BenchSettings.RangeKeys"/> keys from a random key on.</summary>
    Range,

    /// <summary>Watch fan-out: --clients watchers of one prefix while writes land at --rate per second (WatchBenchRunner).</summary>
    Watch,

    /// <summary>Lock hand-offs: --clients loops contend for one lock, each acquiring and releasing it in turn, with its own session or lease.</summary>
    Lock,

    /// <summary>Keep-alives of --leases leases granted first, spread over the loops; at the end, how many are still live.</summary>
    Lease,
}
