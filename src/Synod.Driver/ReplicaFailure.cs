namespace Synod.Driver;

/// <summary>Why a request was answered without a result.</summary>
public enum ReplicaFailure
{
    /// <summary>
    /// The replica knows no live leader (an election is under way, or it cannot reach a quorum), or none could confirm
    /// a linearizable read. Nothing took effect: a write answered so was never proposed.
    /// </summary>
    NoLeader,

    /// <summary>
    /// The write's client session is gone, and an earlier copy of the write may have been applied before it went:
    /// the replica installed a snapshot while the write waited, so it did not see every copy applied. The write may
    /// have taken effect.
    /// </summary>
    WriteOutcomeUnknown,

    /// <summary>
    /// Another write under the same client id and sequence waits here already: only the same write (byte for byte,
    /// its user included) may join it and hear its outcome. Nothing was proposed for this request.
    /// </summary>
    SequenceInUse,

    /// <summary>
    /// The write would take the keys and values past the write quota (<see cref="DriverOptions.QuotaBytes"/>, as the
    /// replica contacted has applied them): nothing was proposed for this request. Deletes, and puts that do not grow
    /// the data, are still served.
    /// </summary>
    NoSpace,

    /// <summary>
    /// The write would grow the data, and this replica lags too far behind the cluster to judge the write quota
    /// (<see cref="ReplicaDriver.QuotaLagging"/>): nothing was proposed; another replica (the leader) can judge it.
    /// </summary>
    CatchingUp,
}
