namespace Synod.Driver;

/// <summary>Why a request was answered without a result. Nothing took effect through it.</summary>
public enum ReplicaFailure
{
    /// <summary>No leader could confirm a linearizable read (an election is under way, or no quorum is reachable).</summary>
    NoLeader,
}
