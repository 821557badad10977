namespace Synod.Checker;

/// <summary>
/// Two cheap, sound tests that prove a key's history not linearizable without a search, and name the
/// few operations that show it. Proving a violation by search means exhausting every ordering, which on a
/// busy key costs far more than finding one; the common bugs (reading a value nobody wrote, reading a
/// value after a completed overwrite) are caught here instead.
/// </summary>
internal static class ObviousViolation
{
    /// <summary>Returns the operations that witness a violation, or null when neither test applies.</summary>
    /// <param name="keyOps">One key's operations, all Ok or writes with an unknown outcome.</param>
    public static List<Operation>? Find(IReadOnlyList<Operation> keyOps)
    {
        // Both tests reason about blind writes; a compare-and-swap writes only sometimes, so the search decides.
        if (keyOps.Any(op => op.Kind == OperationKind.Cas))
        {
            return null;
        }

        var writersOf = new Dictionary<string, List<Operation>>(StringComparer.Ordinal);
        var completedWrites = new List<Operation>();
        foreach (var op in keyOps)
        {
            if (op.Kind == OperationKind.Put)
            {
                if (!writersOf.TryGetValue(op.Value!, out var writers))
                {
                    writers = [];
                    writersOf.Add(op.Value!, writers);
                }
                writers.Add(op);
            }
            if (op.Kind != OperationKind.Get && op.Outcome == Outcome.Ok)
            {
                completedWrites.Add(op);
            }
        }
        var overwrites = new OverwriteIndex(completedWrites);
        foreach (var read in keyOps)
        {
            if (read.Kind != OperationKind.Get || read.Result is null)
            {
                continue;
            }
            var writers = writersOf.GetValueOrDefault(read.Result) ?? [];
            var witness = ImpossibleRead(read, writers) ?? StaleRead(read, writers, overwrites);
            if (witness is not null)
            {
                return witness;
            }
        }
        return null;
    }

    /// <summary>A read of a value that no put had even been invoked to write by the time the read completed.</summary>
    private static List<Operation>? ImpossibleRead(Operation read, List<Operation> writers)
    {
        foreach (var writer in writers)
        {
            if (writer.Invoke <= read.Complete)
            {
                return null;
            }
        }
        return [.. writers, read];
    }

    /// <summary>
    /// A read of a value written by exactly one put, when another write began after that put completed and
    /// completed before the read began: that write must come between them, so the value is gone.
    /// </summary>
    private static List<Operation>? StaleRead(Operation read, List<Operation> writers, OverwriteIndex overwrites)
    {
        if (writers.Count != 1 || writers[0].Complete is not double written)
        {
            return null;
        }
        var overwrite = overwrites.EarliestCompletedAfter(written);
        return overwrite is not null && overwrite.Complete < read.Invoke ? [writers[0], overwrite, read] : null;
    }
}
