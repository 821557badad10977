using Synod.Checker;

namespace Synod.Tests.Checker;

/// <summary>
/// Builds linearizable histories by running a real register: every operation that takes effect gets a
/// linearization point inside its interval (or, for a timed-out write, anywhere after its invocation),
/// and gets read whatever the register holds at their point.
/// </summary>
public static class RegisterHistoryGenerator
{
    private const double UnknownWriteFraction = 0.05;
    private const double FailFraction = 0.01;
    private const double UnknownGetFraction = 0.02;
    private const double DurationMaxSeconds = 2.0;
    private const double ThinkMaxSeconds = 0.5;

    public static List<Operation> Generate(int seed, int operations, int clients, int keys)
    {
        var random = new Random(seed);
        var clocks = new double[clients];
        var history = new List<Operation>(operations);
        var effects = new List<(double At, int Index)>();
        for (var i = 0; i < operations; i++)
        {
            var client = EarliestClient(clocks);
            var invoke = clocks[client] + (random.NextDouble() * ThinkMaxSeconds);
            var duration = 0.01 + (random.NextDouble() * DurationMaxSeconds);
            var op = NewOperation(random, client, $"k{random.Next(keys)}", $"c{client}-{i}", invoke, duration);
            clocks[client] = invoke + duration;
            history.Add(op);
            if (EffectPoint(random, op, duration) is double at)
            {
                effects.Add((at, i));
            }
        }
        ApplyInOrder(history, effects);
        return history;
    }

    private static Operation NewOperation(Random random, int client, string key, string value, double invoke, double duration)
    {
        var roll = random.NextDouble();
        var kind = roll < 0.5 ? OperationKind.Get : roll < 0.9 ? OperationKind.Put : OperationKind.Delete;
        var outcomeRoll = random.NextDouble();
        var outcome = Outcome.Ok;
        if (outcomeRoll < FailFraction)
        {
            outcome = Outcome.Fail;
        }
        else if (outcomeRoll < FailFraction + (kind == OperationKind.Get ? UnknownGetFraction : UnknownWriteFraction))
        {
            outcome = Outcome.Unknown;
        }
        var complete = outcome == Outcome.Unknown ? (double?)null : invoke + duration;
        return new Operation(client, kind, key, kind == OperationKind.Put ? value : null, null, invoke, complete, outcome);
    }

    /// <summary>When the operation takes effect on the register, or null if it never does.</summary>
    private static double? EffectPoint(Random random, Operation op, double duration)
    {
        switch (op.Outcome)
        {
            case Outcome.Ok:
                return op.Invoke + (random.NextDouble() * duration);
            case Outcome.Unknown when op.Kind != OperationKind.Get && random.Next(2) == 0:
                // Timed out, but the write lands later, possibly long after the client moved on.
                return op.Invoke + (random.NextDouble() * duration * 4);
            default:
                return null;
        }
    }

    private static void ApplyInOrder(List<Operation> history, List<(double At, int Index)> effects)
    {
        effects.Sort((a, b) => a.At.CompareTo(b.At));
        var register = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (_, index) in effects)
        {
            var op = history[index];
            if (op.Kind == OperationKind.Get)
            {
                history[index] = op with { Result = register.GetValueOrDefault(op.Key) };
            }
            else
            {
                register[op.Key] = op.Value;
            }
        }
    }

    private static int EarliestClient(double[] clocks)
    {
        var earliest = 0;
        for (var c = 1; c < clocks.Length; c++)
        {
            if (clocks[c] < clocks[earliest])
            {
                earliest = c;
            }
        }
        return earliest;
    }
}
