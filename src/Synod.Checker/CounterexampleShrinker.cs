namespace Synod.Checker;

/// <summary>
/// Cuts a non-linearizable key history down to a short one that still fails, with bounded effort.
/// Every candidate is accepted only after the search proves it not linearizable, so the result always
/// fails; it is short, not necessarily minimal.
/// </summary>
internal static class CounterexampleShrinker
{
    // Proving a history not linearizable can take an exhaustive search; a candidate that needs more
    // than this is simply not taken.
    private const long StepsPerCheckMax = 200_000;

    public static IReadOnlyList<Operation> Shrink(IReadOnlyList<Operation> keyOps, SearchLimits limits)
    {
        // OrderBy is stable, so operations invoked at the same instant keep their order and the result is deterministic.
        var sorted = keyOps.OrderBy(op => op.Invoke).ToList();
        var shrinking = new Shrinking(limits.WithStepsMax(StepsPerCheckMax), keyOps);
        var prefix = ShortestFailingPrefix(sorted, shrinking);
        return RemoveRedundant(prefix, shrinking);
    }

    /// <summary>
    /// Binary search for a prefix that fails while the one before it passes. Failure is not monotone in
    /// the prefix length (a read can precede the invocation of the write it sees), so this finds a short
    /// failing prefix, not always the shortest.
    /// </summary>
    private static List<Operation> ShortestFailingPrefix(List<Operation> sorted, Shrinking shrinking)
    {
        var passing = 0;
        var failing = sorted.Count;
        while (failing - passing > 1 && shrinking.MayCheck)
        {
            var middle = passing + ((failing - passing) / 2);
            if (shrinking.Fails(sorted.GetRange(0, middle)))
            {
                failing = middle;
            }
            else
            {
                passing = middle;
            }
        }
        return sorted.GetRange(0, failing);
    }

    /// <summary>Removes chunks of halving size while the rest still fails, in the manner of delta debugging.</summary>
    private static List<Operation> RemoveRedundant(List<Operation> ops, Shrinking shrinking)
    {
        var current = ops;
        for (var chunk = Math.Max(1, current.Count / 2); chunk >= 1; chunk /= 2)
        {
            var start = 0;
            while (start < current.Count && current.Count > 1)
            {
                if (!shrinking.MayCheck)
                {
                    return current;
                }
                var candidate = new List<Operation>(current);
                candidate.RemoveRange(start, Math.Min(chunk, current.Count - start));
                if (candidate.Count > 0 && shrinking.Fails(candidate))
                {
                    current = candidate;
                }
                else
                {
                    start += chunk;
                }
            }
        }
        return current;
    }
}
