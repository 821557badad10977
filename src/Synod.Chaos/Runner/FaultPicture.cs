namespace Synod.Chaos;

/// <summary>
/// What the planner needs to know about the cluster now. <see cref="Healthy"/> replicas run, vote, are not cut off
/// and answered their last heartbeat; <see cref="Impaired"/> counts every other replica (down, paused, rebuilding,
/// cut off, or not yet answering since a restart).
/// </summary>
public sealed record FaultPicture(double Now, IReadOnlyList<int> Healthy, int Impaired, int Rebuilding, bool PartitionActive);
