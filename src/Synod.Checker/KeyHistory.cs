namespace Synod.Checker;

/// <summary>
/// One key's operations reduced to what the search needs: for each operation whether it writes, the
/// interned value it writes or expects to read, and its call and return times.
/// </summary>
/// <remarks>
/// Writes with an unknown outcome would otherwise stay pending until +infinity and double the search
/// space while they do. Two exact reductions keep them cheap:
/// an unknown write whose value no get returns is dropped, because every linearization stays legal
/// without it and it can always be placed last; and an unknown put whose value no other put writes must
/// precede every get that reads that value, so it is given the earliest completion among those gets.
/// </remarks>
internal sealed class KeyHistory
{
    /// <summary>Interned id of the absent value; the register starts absent.</summary>
    public const int AbsentValueId = 0;

    /// <summary>In <see cref="ExpectIds"/>: the operation is no compare-and-swap.</summary>
    public const int NoExpect = -1;

    private KeyHistory(bool[] isWrite, bool[] isOptional, int[] valueIds, double[] callTimes, double[] returnTimes, int[]? expectIds = null)
    {
        IsWrite = isWrite;
        IsOptional = isOptional;
        ValueIds = valueIds;
        CallTimes = callTimes;
        ReturnTimes = returnTimes;
        ExpectIds = expectIds ?? [.. Enumerable.Repeat(NoExpect, isWrite.Length)];
        HasCas = expectIds is not null;
    }

    /// <summary>
    /// For a compare-and-swap, the state it compares with: one that swapped (or may have) is a write that requires
    /// this state; one whose compare failed is not a write, and requires any other state. <see cref="NoExpect"/> otherwise.
    /// </summary>
    public int[] ExpectIds { get; }

    /// <summary>True when some operation is a compare-and-swap: the search then takes no shortcut meant for blind writes.</summary>
    public bool HasCas { get; }

    public int Count => IsWrite.Length;

    public bool[] IsWrite { get; }

    /// <summary>True for a write with an unknown outcome, which may take effect or not.</summary>
    public bool[] IsOptional { get; }

    /// <summary>For a write, the state it sets; for a get, the state it must observe.</summary>
    public int[] ValueIds { get; }

    public double[] CallTimes { get; }

    public double[] ReturnTimes { get; }

    /// <summary>Builds the search input from operations on one key that are all Ok or unknown writes.</summary>
    public static KeyHistory Build(IReadOnlyList<Operation> keyOps)
    {
        // Numbering operations in invocation order keeps the search's linearized set a dense prefix
        // plus a short window, which is what makes its cache entries small.
        var ops = keyOps.OrderBy(op => op.Invoke).ToList();
        var valueIds = InternValues(ops);
        if (ops.Any(op => op.Kind == OperationKind.Cas))
        {
            return WithCas(ops, valueIds);
        }

        var readers = new int[valueIds.Count + 1];
        var writers = new int[valueIds.Count + 1];
        var firstReadComplete = new double[valueIds.Count + 1];
        Array.Fill(firstReadComplete, double.PositiveInfinity);
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var id = IdOf(op, valueIds);
            if (op.Kind == OperationKind.Get)
            {
                readers[id]++;
                firstReadComplete[id] = Math.Min(firstReadComplete[id], op.Complete!.Value);
            }
            else if (op.Kind == OperationKind.Put)
            {
                writers[id]++;
            }
        }
        return Reduce(ops, valueIds, readers, writers, firstReadComplete);
    }

    private static KeyHistory Reduce(
        IReadOnlyList<Operation> ops,
        Dictionary<string, int> valueIds,
        int[] readers,
        int[] writers,
        double[] firstReadComplete)
    {
        var isWrite = new List<bool>(ops.Count);
        var isOptional = new List<bool>(ops.Count);
        var ids = new List<int>(ops.Count);
        var calls = new List<double>(ops.Count);
        var returns = new List<double>(ops.Count);
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var id = IdOf(op, valueIds);
            var returnTime = op.Complete ?? double.PositiveInfinity;
            if (op.Outcome == Outcome.Unknown)
            {
                if (readers[id] == 0)
                {
                    continue;
                }
                var bound = firstReadComplete[id];
                if (op.Kind == OperationKind.Put && writers[id] == 1 && bound >= op.Invoke)
                {
                    returnTime = bound;
                }
            }
            isWrite.Add(op.Kind != OperationKind.Get);
            isOptional.Add(op.Outcome == Outcome.Unknown);
            ids.Add(id);
            calls.Add(op.Invoke);
            returns.Add(returnTime);
        }
        return new KeyHistory([.. isWrite], [.. isOptional], [.. ids], [.. calls], [.. returns]);
    }

    /// <summary>
    /// A key with compare-and-swaps, without the reductions above (they hold for blind writes only): every operation
    /// as it is, an unknown one pending until +infinity.
    /// </summary>
    private static KeyHistory WithCas(IReadOnlyList<Operation> ops, Dictionary<string, int> valueIds)
    {
        var isWrite = new bool[ops.Count];
        var ids = new int[ops.Count];
        var expects = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            ids[i] = IdOf(op, valueIds);
            expects[i] = op.Kind == OperationKind.Cas ? (op.Expect is null ? AbsentValueId : valueIds[op.Expect]) : NoExpect;
            isWrite[i] = op.Kind is OperationKind.Put or OperationKind.Delete || (op.Kind == OperationKind.Cas && op.Swapped != false);
        }
        return new KeyHistory(
            isWrite,
            [.. ops.Select(op => op.Outcome == Outcome.Unknown)],
            ids,
            [.. ops.Select(op => op.Invoke)],
            [.. ops.Select(op => op.Complete ?? double.PositiveInfinity)],
            expects);
    }

    private static Dictionary<string, int> InternValues(IReadOnlyList<Operation> ops)
    {
        // A get may return a value no put wrote; it still gets an id, which no write can ever produce.
        var valueIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var op in ops)
        {
            var values = op.Kind switch
            {
                OperationKind.Put => [op.Value],
                OperationKind.Cas => [op.Value, op.Expect],
                _ => new[] { op.Result },
            };
            foreach (var value in values)
            {
                if (value is not null && !valueIds.ContainsKey(value))
                {
                    valueIds.Add(value, valueIds.Count + 1);
                }
            }
        }
        return valueIds;
    }

    private static int IdOf(Operation op, Dictionary<string, int> valueIds)
    {
        var value = op.Kind switch
        {
            OperationKind.Put or OperationKind.Cas => op.Value,
            OperationKind.Get => op.Result,
            _ => null,
        };
        return value is null ? AbsentValueId : valueIds[value];
    }
}
