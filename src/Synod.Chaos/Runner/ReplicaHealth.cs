namespace Synod.Chaos;

/// <summary>
/// The latest heartbeat of one replica: whether the gRPC health service answered SERVING, and what its Status said.
/// Fields from Status keep their last known values when a heartbeat goes unanswered.
/// </summary>
/// <param name="Serving">True when the last health check answered SERVING in time.</param>
/// <param name="LastAnswer">When (run clock) it last answered, or null if never.</param>
public sealed record ReplicaHealth(
    int Id,
    bool Serving,
    double? LastAnswer,
    string Role,
    int LeaderId,
    ulong AppliedSlot,
    ulong CommitIndex,
    ulong HighestKnownCommit,
    bool Rebuilding,
    int ProcessId,
    ulong Keys)
{
    public static ReplicaHealth Unknown(int id) => new(id, false, null, "?", 0, 0, 0, 0, false, 0, 0);
}
