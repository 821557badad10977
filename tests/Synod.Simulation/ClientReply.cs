namespace Synod.Simulation;

/// <summary>
/// A replica's answer. Ok false means "not served here, try elsewhere" and nothing took effect through this attempt;
/// <paramref name="SessionGone"/> means the replicas refused the write for want of a session (expired or never
/// assigned), so no retry under that client id can succeed. A registration's answer carries the id it assigned.
/// A compare-and-swap's answer says whether it swapped (<paramref name="Swapped"/>; false: its compare failed); a range
/// read's, every key it found with its value (<paramref name="Found"/>).
/// </summary>
public sealed record ClientReply(
    int Client, long Attempt, bool Ok, string? Value, string Detail, ulong RegisteredClientId = 0, bool SessionGone = false, bool? Swapped = null,
    IReadOnlyDictionary<string, string>? Found = null)
{
    /// <summary>For a range read, the revision the replica had applied when it answered; for a write, the write's revision.</summary>
    public long Revision { get; init; }

    /// <summary>For a range read at a past revision, why it was not served (compacted, or in the future); null when it was.</summary>
    public Synod.Driver.RevisionRefusal? Refused { get; init; }

    /// <summary>The write was refused because its user may not make it (authentication on): it was not applied, for good.</summary>
    public bool Denied { get; init; }

    /// <summary>The write was refused before the log because it would take the data past the write quota: this attempt was not proposed.</summary>
    public bool NoSpace { get; init; }
}
