namespace Synod.Chaos;

/// <summary>
/// A watcher's changes against the writes the clients had acknowledged: in revision order, none twice, each the same
/// as the acknowledged write at its revision, and none missing from the revisions the watcher covered (from where its
/// watch was put in place to the last revision it was told about).
/// </summary>
public static class WatchCheck
{
    /// <summary>A change as a watcher reported it, or as a write's acknowledgement gave it: the key and its value (null: deleted).</summary>
    public sealed record Change(long Revision, string Key, string? Value);

    /// <summary>What one watcher saw: the revision its watch started at and every change, in the order they came.</summary>
    public sealed record Watcher(int Id, long From, IReadOnlyList<Change> Changes, long CoveredTo);

    /// <summary>The problems, each a sentence; none when every watcher saw exactly the acknowledged changes it covered.</summary>
    /// <param name="acknowledged">Acknowledged changes by revision (each write of the watched keys that changed something).</param>
    public static IReadOnlyList<string> Problems(IReadOnlyList<Watcher> watchers, IReadOnlyDictionary<long, Change> acknowledged)
    {
        var problems = new List<string>();
        foreach (var watcher in watchers)
        {
            var seen = new HashSet<(long, string)>();
            var previous = 0L;
            foreach (var change in watcher.Changes)
            {
                if (change.Revision < previous)
                {
                    problems.Add($"watcher {watcher.Id} got revision {change.Revision} after {previous}: out of order.");
                }

                if (!seen.Add((change.Revision, change.Key)))
                {
                    problems.Add($"watcher {watcher.Id} got {change.Key} at revision {change.Revision} twice.");
                }

                if (change.Revision < watcher.From)
                {
                    problems.Add($"watcher {watcher.Id} got revision {change.Revision}, before its start ({watcher.From}).");
                }

                if (acknowledged.TryGetValue(change.Revision, out var written) && (written.Key != change.Key || written.Value != change.Value))
                {
                    problems.Add($"watcher {watcher.Id} got {Show(change)} at revision {change.Revision}, where the acknowledged write was {Show(written)}.");
                }

                previous = change.Revision;
            }

            foreach (var (revision, written) in acknowledged.Where(a => a.Key >= watcher.From && a.Key <= watcher.CoveredTo).OrderBy(a => a.Key))
            {
                if (!seen.Contains((revision, written.Key)))
                {
                    problems.Add($"watcher {watcher.Id} covered revisions {watcher.From}..{watcher.CoveredTo} but never got the acknowledged {Show(written)} at revision {revision}.");
                    break;
                }
            }
        }

        return problems;
    }

    private static string Show(Change change) => change.Value is null ? $"delete of {change.Key}" : $"{change.Key}={change.Value}";
}
