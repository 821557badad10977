using System.Diagnostics;

namespace Synod.Checker;

/// <summary>
/// Decides whether a client history of the key-value store is linearizable, key by key.
/// </summary>
/// <remarks>
/// Linearizability is compositional (Herlihy and Wing's locality), so the history is split per key and
/// each key's register history is searched on its own, as Porcupine does. Failed operations are dropped
/// because they had no effect; gets with an unknown outcome are dropped because a read has no effect;
/// writes with an unknown outcome stay, pending until +infinity. See README.md in this folder.
/// </remarks>
public static class LinearizabilityChecker
{
    /// <summary>Checks the history, giving up and reporting <see cref="CheckResult.TimedOut"/> if the budget runs out.</summary>
    /// <exception cref="ArgumentException">An operation is malformed; the message says which and why.</exception>
    public static CheckResult Check(IReadOnlyList<Operation> history, TimeSpan? budget = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (budget is TimeSpan given && given < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), given, "The time budget must not be negative.");
        }
        var limits = new SearchLimits(Stopwatch.GetTimestamp(), budget, long.MaxValue);
        var byKey = PartitionByKey(history, out var operationsChecked);
        var keys = new List<string>(byKey.Keys);
        keys.Sort(StringComparer.Ordinal);
        var gaveUp = false;
        foreach (var key in keys)
        {
            // A key the search gave up on does not stop the others: a proven violation elsewhere is an answer.
            if (gaveUp && limits.IsPastDeadline)
            {
                break;
            }
            var verdict = CheckKey(byKey[key], limits, out var counterexample);
            if (verdict == SearchVerdict.NotLinearizable)
            {
                return new CheckResult(false, operationsChecked, key, counterexample!, TimedOut: false);
            }
            gaveUp |= verdict == SearchVerdict.GaveUp;
        }
        return new CheckResult(!gaveUp, operationsChecked, null, [], TimedOut: gaveUp);
    }

    /// <summary>
    /// Renders operations one per line, sorted by invocation, e.g. <c>c3 put k1=v7  [1.250, 1.500] ok</c>.
    /// </summary>
    public static string Describe(IReadOnlyList<Operation> ops) => OperationText.Describe(ops);

    private static SearchVerdict CheckKey(
        List<Operation> keyOps,
        SearchLimits limits,
        out IReadOnlyList<Operation>? counterexample)
    {
        counterexample = null;
        var witness = ObviousViolation.Find(keyOps);
        if (witness is not null)
        {
            counterexample = [.. witness.OrderBy(op => op.Invoke)];
            return SearchVerdict.NotLinearizable;
        }
        var verdict = WglSearch.Run(KeyHistory.Build(keyOps), limits);
        if (verdict == SearchVerdict.NotLinearizable)
        {
            counterexample = CounterexampleShrinker.Shrink(keyOps, limits);
        }
        return verdict;
    }

    private static Dictionary<string, List<Operation>> PartitionByKey(
        IReadOnlyList<Operation> history,
        out int operationsChecked)
    {
        var byKey = new Dictionary<string, List<Operation>>(StringComparer.Ordinal);
        operationsChecked = 0;
        for (var i = 0; i < history.Count; i++)
        {
            var op = history[i] ?? throw new ArgumentException($"history[{i}] is null.", nameof(history));
            var problem = OperationRules.FindProblem(op);
            if (problem is not null)
            {
                throw new ArgumentException($"history[{i}] ({OperationText.Head(op)}): {problem}.", nameof(history));
            }
            if (IsIrrelevant(op))
            {
                continue;
            }
            if (!byKey.TryGetValue(op.Key, out var ops))
            {
                ops = [];
                byKey.Add(op.Key, ops);
            }
            ops.Add(op);
            operationsChecked++;
        }
        return byKey;
    }

    /// <summary>A failed operation had no effect, and a read whose result is unknown constrains nothing.</summary>
    internal static bool IsIrrelevant(Operation op) =>
        op.Outcome == Outcome.Fail || (op.Outcome == Outcome.Unknown && op.Kind == OperationKind.Get);
}
