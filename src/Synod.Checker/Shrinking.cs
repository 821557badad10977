namespace Synod.Checker;

/// <summary>The effort spent so far, and the test every accepted candidate must pass.</summary>
internal sealed class Shrinking(SearchLimits limits, IReadOnlyList<Operation> keyOps)
{
    // Each candidate costs a search, so the number tried is capped.
    private const int ChecksMax = 300;

    private readonly Dictionary<string, double> _firstPutInvokes = FirstPutInvokes(keyOps);
    private readonly double _firstDeleteInvoke = FirstDeleteInvoke(keyOps);
    private readonly bool _hasCas = keyOps.Any(op => op.Kind == OperationKind.Cas);
    private int _checks;

    public bool MayCheck => _checks < ChecksMax && !limits.IsPastDeadline;

    /// <summary>
    /// True when the candidate is proven not linearizable. A candidate that drops the puts that could
    /// explain a read it keeps would fail for a reason the full history does not have, which explains
    /// nothing, so it is not taken.
    /// </summary>
    public bool Fails(List<Operation> candidate)
    {
        if (!KeepsWriters(candidate))
        {
            return false;
        }
        _checks++;
        return WglSearch.Run(KeyHistory.Build(candidate), limits) == SearchVerdict.NotLinearizable;
    }

    private bool KeepsWriters(List<Operation> candidate)
    {
        // A compare-and-swap observes the state as a read does, whether it swapped or not: on a key that has one,
        // every write is kept, so that no write an observer depended on is missing; only observers (reads and
        // compares that failed) are dropped, and dropping an observer never makes a linearizable history fail.
        if (_hasCas && candidate.Count(IsWrite) != keyOps.Count(IsWrite))
        {
            return false;
        }

        var puts = FirstPutInvokes(candidate);
        var delete = FirstDeleteInvoke(candidate);
        foreach (var op in candidate)
        {
            if (op.Kind != OperationKind.Get)
            {
                continue;
            }
            var (original, kept) = op.Result is string read
                ? (_firstPutInvokes.GetValueOrDefault(read, double.PositiveInfinity), puts.GetValueOrDefault(read, double.PositiveInfinity))
                : (_firstDeleteInvoke, delete);
            if (original <= op.Complete && !(kept <= op.Complete))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether the operation may change the key: a put, a delete, or a compare-and-swap that swapped (or may have).</summary>
    private static bool IsWrite(Operation op) => op.Kind is OperationKind.Put or OperationKind.Delete || (op.Kind == OperationKind.Cas && op.Swapped != false);

    /// <summary>For each value put (or swapped in), the earliest invocation of a write that writes it.</summary>
    private static Dictionary<string, double> FirstPutInvokes(IEnumerable<Operation> ops)
    {
        var first = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var op in ops)
        {
            if (op.Kind == OperationKind.Put || (op.Kind == OperationKind.Cas && op.Swapped != false))
            {
                first[op.Value!] = Math.Min(op.Invoke, first.GetValueOrDefault(op.Value!, double.PositiveInfinity));
            }
        }
        return first;
    }

    private static double FirstDeleteInvoke(IEnumerable<Operation> ops)
    {
        var first = double.PositiveInfinity;
        foreach (var op in ops)
        {
            if (op.Kind == OperationKind.Delete)
            {
                first = Math.Min(first, op.Invoke);
            }
        }
        return first;
    }
}
