namespace Synod.Driver;

/// <summary>Why a request was answered without a result.</summary>
public enum ReplicaFailure
{
    /// <summary>No leader could confirm a linearizable read (an election is under way, or no quorum is reachable). Nothing took effect.</summary>
    NoLeader,

    /// <summary>
    /// The write's client session is gone, and an earlier copy of the write may have been applied before it went:
    /// the replica installed a snapshot while the write waited, so it did not see every copy applied. The write may
    /// have taken effect.
    /// </summary>
    WriteOutcomeUnknown,
}
