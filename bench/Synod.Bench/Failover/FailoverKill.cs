namespace Synod.Bench;

/// <summary>What one leader kill cost the clients.</summary>
/// <param name="Leader">The replica killed (it reported itself leader).</param>
/// <param name="NewLeader">The replica that led afterwards, 0 if none was seen.</param>
/// <param name="RecoveryMs">From the SIGKILL to the first acknowledged put that was sent after it; null if none within the wait.</param>
/// <param name="GapMs">The longest time around the kill with no put acknowledged at all.</param>
/// <param name="Failed">Puts that failed (not applied) between the kill and recovery plus one second.</param>
/// <param name="Unknown">Puts whose outcome is unknown (the deadline passed after the write may have been forwarded) in that window.</param>
public sealed record FailoverKill(int Leader, int NewLeader, double? RecoveryMs, double GapMs, long Failed, long Unknown);
