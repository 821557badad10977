namespace Synod.Checker;

/// <summary>
/// The shape every operation must have before it is checked or written. Both the checker and the JSON
/// reader use these rules so that a malformed history is rejected with the same sentence either way.
/// </summary>
internal static class OperationRules
{
    /// <summary>Returns a sentence saying what is wrong with the operation, or null when it is well formed.</summary>
    public static string? FindProblem(Operation op)
    {
        if (op.Key is null)
        {
            return "the key is missing";
        }
        if (!double.IsFinite(op.Invoke))
        {
            return "the invocation time must be a finite number";
        }
        if (op.Kind is OperationKind.Put or OperationKind.Cas && op.Value is null)
        {
            return $"a {KindName(op.Kind)} must carry the value it writes";
        }
        if (op.Kind is not (OperationKind.Put or OperationKind.Cas) && op.Value is not null)
        {
            return $"a {KindName(op.Kind)} carries no value";
        }
        if (op.Kind != OperationKind.Cas && (op.Expect is not null || op.Swapped is not null))
        {
            return $"a {KindName(op.Kind)} has no expected value and no swap result";
        }
        if (op.Kind == OperationKind.Cas && (op.Outcome == Outcome.Ok) != op.Swapped.HasValue)
        {
            return "a compare-and-swap has a result (true: swapped, false: compare failed) exactly when its outcome is ok";
        }
        return FindTimeProblem(op);
    }

    public static string KindName(OperationKind kind) => kind switch
    {
        OperationKind.Get => "get",
        OperationKind.Put => "put",
        OperationKind.Delete => "delete",
        OperationKind.Cas => "cas",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown operation kind"),
    };

    public static string OutcomeName(Outcome outcome) => outcome switch
    {
        Outcome.Ok => "ok",
        Outcome.Fail => "fail",
        Outcome.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown outcome"),
    };

    private static string? FindTimeProblem(Operation op)
    {
        if (op.Outcome == Outcome.Unknown)
        {
            // An unknown outcome completes at +infinity; a finite time here would suggest otherwise.
            return op.Complete is null ? null : "an operation with an unknown outcome has no completion time";
        }
        if (op.Complete is not double complete)
        {
            return op.Outcome == Outcome.Ok ? "a completed operation needs a completion time" : null;
        }
        if (!double.IsFinite(complete))
        {
            return "the completion time must be a finite number";
        }
        return complete < op.Invoke ? "the operation completes before it is invoked" : null;
    }
}
