namespace Synod.Client;

/// <summary>Per-call settings that override the client's defaults for one operation.</summary>
public sealed record SynodCallOptions
{
    /// <summary>
    /// Sends the call to this replica only (an index into <see cref="SynodClientOptions.Endpoints"/>, from 0):
    /// no failover, and if the replica cannot be connected the call fails at once with
    /// <see cref="SynodUnreachableException"/>. An answer of "no leader" or "no quorum" from it is still retried
    /// on it until the deadline, because an election may end in time.
    /// </summary>
    public int? PinnedEndpointIndex { get; init; }

    /// <summary>Replaces <see cref="SynodClientOptions.OperationTimeout"/> for this call.</summary>
    public TimeSpan? OperationTimeout { get; init; }

    /// <summary>
    /// Stops at the first refusal that names a leader this client has no endpoint for (<see cref="LeaderElsewhereException"/>),
    /// instead of trying its own endpoints until the deadline: membership changes then look the leader up in the configuration.
    /// </summary>
    internal bool LeaveForUnknownLeader { get; init; }

    public static SynodCallOptions Pinned(int endpointIndex) => new() { PinnedEndpointIndex = endpointIndex };
}
