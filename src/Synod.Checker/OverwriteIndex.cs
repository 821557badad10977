namespace Synod.Checker;

/// <summary>
/// Completed writes sorted by invocation, with suffix minima of completion, so that "the write invoked
/// after time t that completes first" is a binary search instead of a scan.
/// </summary>
internal sealed class OverwriteIndex
{
    private readonly Operation[] _byInvoke;
    private readonly int[] _earliestCompletingFrom;

    public OverwriteIndex(List<Operation> completedWrites)
    {
        _byInvoke = [.. completedWrites.OrderBy(op => op.Invoke)];
        _earliestCompletingFrom = new int[_byInvoke.Length];
        for (var i = _byInvoke.Length - 1; i >= 0; i--)
        {
            var later = i + 1 < _byInvoke.Length ? _earliestCompletingFrom[i + 1] : -1;
            _earliestCompletingFrom[i] = later >= 0 && _byInvoke[later].Complete < _byInvoke[i].Complete ? later : i;
        }
    }

    /// <summary>Of the writes invoked strictly after <paramref name="time"/>, the one that completes first, or null.</summary>
    public Operation? EarliestCompletedAfter(double time)
    {
        var low = 0;
        var high = _byInvoke.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_byInvoke[middle].Invoke > time)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }
        return low < _byInvoke.Length ? _byInvoke[_earliestCompletingFrom[low]] : null;
    }
}
