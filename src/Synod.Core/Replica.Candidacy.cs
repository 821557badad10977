namespace Synod.Core;

/// <summary>
/// Why a candidacy failed, in one sentence for the log (issue 13, finding 3: replicas stood and stood down for minutes
/// and said nothing of why): who promised, who refused and with what, whose promise was discarded as one of a lost
/// life, and who did not answer (a non-voter, a replica that deferred the Prepare to a leader it still hears, a lost
/// message, or a replica that is down cannot be told apart from here).
/// </summary>
public sealed partial class Replica
{
    private readonly Dictionary<int, Ballot> _candidacyRejects = [];
    private readonly HashSet<int> _candidacyDiscarded = [];

    /// <summary>Candidacies that ended without leading, since start.</summary>
    public long FailedCandidacies { get; private set; }

    /// <summary>Why the last one failed, or null.</summary>
    public string? LastCandidacyFailure { get; private set; }

    private void NoteCandidacyFailed(string why)
    {
        FailedCandidacies++;
        var promised = _members.Where(m => _promises.ContainsKey(m)).ToList();
        var silent = _members.Where(m => !_promises.ContainsKey(m) && !_candidacyRejects.ContainsKey(m) && !_candidacyDiscarded.Contains(m)).ToList();
        var parts = new List<string>
        {
            $"promises from {List(promised)} ({CurrentQuorumSize} needed)",
        };
        if (_candidacyRejects.Count > 0)
        {
            parts.Add("refused by " + string.Join(", ", _candidacyRejects.Select(r => $"{r.Key} (promised {r.Value})")));
        }

        if (_candidacyDiscarded.Count > 0)
        {
            parts.Add($"discarded as made in a life since lost: {List(_candidacyDiscarded)}");
        }

        if (silent.Count > 0)
        {
            parts.Add($"no answer from {List(silent)} (rebuilding, deferring to a leader, down or cut off)");
        }

        LastCandidacyFailure = $"candidacy at {_ballot} from slot {_prepareFromSlot} failed: {why}; {string.Join("; ", parts)}";
    }

    private static string List(IEnumerable<int> ids) => ids.Any() ? string.Join(",", ids) : "none";
}
