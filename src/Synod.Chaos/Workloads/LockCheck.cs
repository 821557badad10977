using System.Globalization;

namespace Synod.Chaos;

/// <summary>
/// The fenced counter's invariant, read from every change of the counter key in revision order (each value is
/// "COUNT:TOKEN"): each change raises the count by exactly one (no increment lost or applied on a stale read), the
/// tokens the counter accepted strictly increase (no holder wrote after a later holder), and the final count lies
/// between the acknowledged increments and those plus the writes whose outcome is unknown.
/// </summary>
public static class LockCheck
{
    /// <summary>One change of the counter: its revision and value.</summary>
    public sealed record Change(long Revision, string Value);

    public static IReadOnlyList<string> Problems(IReadOnlyList<Change> changes, int acknowledged, int unknown)
    {
        var problems = new List<string>();
        long count = 0;
        long token = 0;
        foreach (var change in changes)
        {
            var parts = change.Value.Split(':');
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var next)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var nextToken))
            {
                problems.Add($"the counter holds \"{change.Value}\" at revision {change.Revision}, not COUNT:TOKEN.");
                continue;
            }

            if (next != count + 1)
            {
                problems.Add($"the counter went from {count} to {next} at revision {change.Revision}: an increment was lost or made on a stale read.");
            }

            if (nextToken <= token)
            {
                problems.Add($"the counter accepted token {nextToken} at revision {change.Revision} after token {token}: a holder wrote after a later holder had the lock.");
            }

            count = next;
            token = Math.Max(token, nextToken);
        }

        if (count < acknowledged || count > acknowledged + unknown)
        {
            problems.Add($"the counter ends at {count}, but {acknowledged} increments were acknowledged and {unknown} had an unknown outcome: it must lie in {acknowledged}..{acknowledged + unknown}.");
        }

        return problems;
    }
}
