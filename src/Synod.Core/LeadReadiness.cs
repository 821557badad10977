namespace Synod.Core;

/// <summary>
/// What a replica's heartbeat says about being handed leadership under the preferred-leader rule (docs/protocol.md,
/// "Preferred leader"): a leader hands over only to a replica that says <see cref="Ready"/>, and a replica that would
/// not say so does not stand on a TimeoutNow either.
/// </summary>
public enum LeadReadiness
{
    /// <summary>Not said: a replica run with no preferred-leader rule, or a build before this field.</summary>
    Unknown = 0,

    /// <summary>A voter, not rebuilding, not stopping, that hears a quorum and would keep leadership if handed it.</summary>
    Ready = 1,

    /// <summary>It lost its disk and rebuilds: it may not vote, so it cannot stand.</summary>
    Rebuilding = 2,

    /// <summary>It is no voter of the configuration in effect and the latest one (a learner, or one being removed).</summary>
    Leaving = 3,

    /// <summary>It has not heard a quorum of voters within an election timeout: its candidacy would fail.</summary>
    HearsNoQuorum = 4,

    /// <summary>Its own setting prefers another live voter: it would hand leadership straight on.</summary>
    PrefersAnother = 5,

    /// <summary>It is stopping (a graceful stop has begun): it will be gone soon, so no one counts on it.</summary>
    Stopping = 6,
}

/// <summary>What a replica's readiness means for a leader about to hand over to it.</summary>
public static class LeadReadinessRules
{
    /// <summary>
    /// Whether the replica said it could not lead now (rebuilding, leaving, hearing no quorum, stopping): a handover to it
    /// would fail. Unknown (nothing said) and PrefersAnother (it would only hand on) do not count.
    /// </summary>
    public static bool CannotLead(this LeadReadiness readiness) =>
        readiness is LeadReadiness.Rebuilding or LeadReadiness.Leaving or LeadReadiness.HearsNoQuorum or LeadReadiness.Stopping;
}
