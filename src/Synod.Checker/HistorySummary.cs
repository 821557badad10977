namespace Synod.Checker;

/// <summary>What a history holds, counted over every operation as recorded (failed ones included).</summary>
/// <param name="Operations">Every operation in the history.</param>
/// <param name="Ok">Operations that completed with a known result.</param>
/// <param name="Failed">Operations that definitely did not take effect.</param>
/// <param name="Unknown">Operations whose outcome the client never learned.</param>
/// <param name="Keys">Distinct keys the operations touch (compared ordinally).</param>
public sealed record HistorySummary(int Operations, int Ok, int Failed, int Unknown, int Keys)
{
    public static HistorySummary Of(IReadOnlyList<Operation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var ok = 0;
        var failed = 0;
        var unknown = 0;
        for (var i = 0; i < history.Count; i++)
        {
            var op = history[i] ?? throw new ArgumentException($"history[{i}] is null.", nameof(history));
            keys.Add(op.Key);
            switch (op.Outcome)
            {
                case Outcome.Ok:
                    ok++;
                    break;
                case Outcome.Fail:
                    failed++;
                    break;
                default:
                    unknown++;
                    break;
            }
        }
        return new HistorySummary(history.Count, ok, failed, unknown, keys.Count);
    }
}
