using Synod.Checker;

namespace Synod.Chaos;

/// <summary>The longest stretch of a run in which no write (put or delete) completed successfully.</summary>
/// <param name="From">Run-clock seconds when the window opened: the last successful write before it, or the start.</param>
/// <param name="To">When it closed: the next successful write, or the end.</param>
public sealed record WriteGap(double From, double To)
{
    public double Seconds => To - From;

    /// <summary>Finds the longest window within [<paramref name="start"/>, <paramref name="end"/>] with no successful write.</summary>
    public static WriteGap Longest(IEnumerable<Operation> history, double start, double end)
    {
        var completions = history
            .Where(op => op.Kind != OperationKind.Get && op.Outcome == Outcome.Ok && op.Complete is double c && c >= start && c <= end)
            .Select(op => op.Complete!.Value)
            .Order()
            .Append(end);
        var longest = new WriteGap(start, start);
        var previous = start;
        foreach (var completion in completions)
        {
            if (completion - previous > longest.Seconds)
            {
                longest = new WriteGap(previous, completion);
            }

            previous = completion;
        }

        return longest;
    }
}
