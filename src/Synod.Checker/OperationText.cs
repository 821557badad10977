using System.Globalization;
using System.Text;

namespace Synod.Checker;

/// <summary>Human-readable renderings of operations for reports and counterexamples.</summary>
internal static class OperationText
{
    public static string Describe(IReadOnlyList<Operation> ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        // OrderBy is stable, so operations invoked at the same instant keep the caller's order.
        var sorted = ops.OrderBy(op => op.Invoke).ToList();
        var heads = new string[sorted.Count];
        var width = 0;
        for (var i = 0; i < sorted.Count; i++)
        {
            heads[i] = Head(sorted[i]);
            width = Math.Max(width, heads[i].Length);
        }
        var text = new StringBuilder();
        for (var i = 0; i < sorted.Count; i++)
        {
            var op = sorted[i];
            var complete = op.Complete is double time ? Time(time) : "∞";
            text.Append(heads[i].PadRight(width))
                .Append(" [").Append(Time(op.Invoke)).Append(", ").Append(complete).Append("] ")
                .Append(OperationRules.OutcomeName(op.Outcome))
                .Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Who did what to which key, e.g. <c>c3 put k1=v7</c> or <c>c2 get k1 -> v7</c>.</summary>
    public static string Head(Operation op)
    {
        var client = "c" + op.ClientId.ToString(CultureInfo.InvariantCulture);
        return op.Kind switch
        {
            OperationKind.Put => $"{client} put {op.Key}={op.Value}",
            OperationKind.Delete => $"{client} delete {op.Key}",
            OperationKind.Cas => $"{client} cas {op.Key} {op.Expect ?? "(absent)"}->{op.Value} -> {(op.Swapped is { } swapped ? (swapped ? "swapped" : "compare failed") : "?")}",
            _ => $"{client} get {op.Key} -> {ReadText(op)}",
        };
    }

    private static string ReadText(Operation op)
    {
        if (op.Outcome != Outcome.Ok)
        {
            return "?";
        }
        return op.Result ?? "(absent)";
    }

    private static string Time(double time) => time.ToString("F3", CultureInfo.InvariantCulture);
}
