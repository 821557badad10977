namespace Synod.Bench;

/// <summary>What one leader kill (or graceful stop, or one step of a rolling restart) cost the clients.</summary>
/// <param name="Leader">The replica killed or stopped (it reported itself leader, unless <paramref name="WasLeader"/> is false in a rolling restart).</param>
/// <param name="NewLeader">The replica that led afterwards, 0 if none was seen.</param>
/// <param name="RecoveryMs">From the SIGKILL to the first acknowledged put that was sent after it; null if none within the wait.</param>
/// <param name="GapMs">The longest time with no put acknowledged at all, from a second before the kill until the replica is restarted.</param>
/// <param name="Failed">Puts that failed (not applied) between the kill and recovery plus one second.</param>
/// <param name="Unknown">Puts whose outcome is unknown (the deadline passed after the write may have been forwarded) in that window.</param>
/// <param name="WasLeader">Whether the replica stopped was the leader.</param>
/// <param name="SteadyGapMs">The longest time with no put acknowledged during the steady load before the kill: what clients see anyway.</param>
public sealed record FailoverKill(int Leader, int NewLeader, double? RecoveryMs, double GapMs, long Failed, long Unknown, bool WasLeader = true, double SteadyGapMs = 0);
