namespace Synod.Kv;

/// <summary>What one operation of a transaction does. The numeric values are part of the wire encoding.</summary>
public enum KvTxnOpKind : byte
{
    Put = 1,
    Delete = 2,
    Get = 3,
    Range = 4,
}

/// <summary>
/// One operation of a transaction: a put of <paramref name="Key"/> to <paramref name="Value"/>, a delete or a get of
/// <paramref name="Key"/>, or a range read of [<paramref name="Key"/>, <paramref name="RangeEnd"/>) (an empty end: to
/// the last key) of at most <paramref name="Limit"/> keys (0: the replica's bounds only). A put may attach its key to
/// lease <paramref name="Lease"/> (0: none).
/// </summary>
public sealed record KvTxnOp(KvTxnOpKind Kind, byte[] Key, byte[] Value, byte[] RangeEnd, int Limit = 0, long Lease = 0)
{
    public static KvTxnOp Put(byte[] key, byte[] value, long lease = 0) => new(KvTxnOpKind.Put, key, value, [], Lease: lease);

    public static KvTxnOp Delete(byte[] key) => new(KvTxnOpKind.Delete, key, [], []);

    public static KvTxnOp Get(byte[] key) => new(KvTxnOpKind.Get, key, [], []);

    public static KvTxnOp Range(KvRange range) => new(KvTxnOpKind.Range, range.From, [], range.To, range.Limit);

    public bool Equals(KvTxnOp? other) =>
        other is not null && Kind == other.Kind && Limit == other.Limit && Lease == other.Lease
        && Key.AsSpan().SequenceEqual(other.Key) && Value.AsSpan().SequenceEqual(other.Value) && RangeEnd.AsSpan().SequenceEqual(other.RangeEnd);

    public override int GetHashCode() => HashCode.Combine(Kind, Key.Length, Value.Length, RangeEnd.Length, Limit);
}

/// <summary>A transaction's condition on one key: <paramref name="Condition"/> must hold for <paramref name="Key"/>.</summary>
public sealed record KvTxnCompare(byte[] Key, KvCondition Condition)
{
    public bool Equals(KvTxnCompare? other) => other is not null && Key.AsSpan().SequenceEqual(other.Key) && Condition.Equals(other.Condition);

    public override int GetHashCode() => HashCode.Combine(Key.Length, Condition);
}

/// <summary>
/// A transaction (etcd's txn): if every compare holds when it is applied, the success operations run, else the failure
/// operations, in order, all at one revision (the transaction takes one, if it changes anything); reads in it see the
/// writes before them in it. Applied exactly once, like every write.
/// </summary>
public sealed record KvTxn(IReadOnlyList<KvTxnCompare> Compares, IReadOnlyList<KvTxnOp> Success, IReadOnlyList<KvTxnOp> Failure)
{
    /// <summary>The sentence saying what is wrong with the transaction, or null if it may be applied.</summary>
    public string? Problem()
    {
        if (Compares.Count > KvLimits.TxnOpsMax || Success.Count > KvLimits.TxnOpsMax || Failure.Count > KvLimits.TxnOpsMax)
        {
            return $"The transaction has {Compares.Count} compares, {Success.Count} success and {Failure.Count} failure operations; each is at most TxnOpsMax ({KvLimits.TxnOpsMax}).";
        }

        long bytes = 0;
        foreach (var compare in Compares)
        {
            bytes += compare.Key.Length + compare.Condition.Value.Length;
            if (KeyProblem(compare.Key, "compare") is { } problem)
            {
                return problem;
            }

            if (RequestRules.ConditionProblem(RequestRules.Put, (byte)compare.Condition.Target, compare.Condition.Number, compare.Condition.Value, 0) is { } condition)
            {
                return condition;
            }
        }

        foreach (var (branch, ops) in new[] { ("success", Success), ("failure", Failure) })
        {
            var written = new HashSet<byte[]>(ByteArrayComparer.Instance);
            foreach (var op in ops)
            {
                bytes += op.Key.Length + op.Value.Length + op.RangeEnd.Length;
                var problem = op.Kind switch
                {
                    KvTxnOpKind.Range => new KvRange(op.Key, op.RangeEnd, op.Limit).Problem(),
                    _ => KeyProblem(op.Key, $"{branch} {op.Kind.ToString().ToLowerInvariant()}")
                        ?? (op.Kind != KvTxnOpKind.Put && op.Value.Length != 0 ? $"A {op.Kind.ToString().ToLowerInvariant()} in a transaction carries no value." : null)
                        ?? (op.RangeEnd.Length != 0 || op.Limit != 0 ? "Only a range in a transaction has an end and a limit." : null)
                        ?? (op.Lease != 0 && op.Kind != KvTxnOpKind.Put ? "Only a put in a transaction attaches its key to a lease." : null)
                        ?? (op.Lease != 0 ? RequestRules.LeaseIdProblem(op.Lease) : null),
                };
                if (problem is not null)
                {
                    return problem;
                }

                if (op.Kind is KvTxnOpKind.Put or KvTxnOpKind.Delete && !written.Add(op.Key))
                {
                    return $"The transaction's {branch} branch writes one key twice ({op.Key.Length} bytes, beginning \"{Preview(op.Key)}\"); write each key at most once per branch.";
                }
            }
        }

        return bytes > KvLimits.TxnBytesMax
            ? $"The transaction's keys and values are {bytes} bytes in all, over TxnBytesMax ({KvLimits.TxnBytesMax} bytes)."
            : null;
    }

    private static string? KeyProblem(byte[] key, string what) =>
        key.Length == 0 ? $"A {what}'s key is empty; a key needs at least 1 byte."
        : key.Length > KvLimits.KeyBytesMax ? $"A {what}'s key is {key.Length} bytes, over KeyBytesMax ({KvLimits.KeyBytesMax} bytes)."
        : null;

    private static string Preview(byte[] key) =>
        new([.. key.Take(32).Select(b => b is >= 0x20 and < 0x7f ? (char)b : '?')]);

    /// <summary>The transaction as bytes: the compares, then the success and the failure operations (KvCommand carries them).</summary>
    internal void Write(List<byte> output, bool leases)
    {
        KvBytes.AppendVarint(output, (ulong)Compares.Count);
        foreach (var compare in Compares)
        {
            KvBytes.Append(output, compare.Key);
            output.Add((byte)compare.Condition.Target);
            output.Add((byte)compare.Condition.Op);
            KvBytes.AppendVarint(output, (ulong)compare.Condition.Number);
            KvBytes.Append(output, compare.Condition.Value);
        }

        foreach (var ops in new[] { Success, Failure })
        {
            KvBytes.AppendVarint(output, (ulong)ops.Count);
            foreach (var op in ops)
            {
                output.Add((byte)op.Kind);
                KvBytes.Append(output, op.Key);
                KvBytes.Append(output, op.Value);
                KvBytes.Append(output, op.RangeEnd);
                KvBytes.AppendVarint(output, (ulong)op.Limit);
                if (leases)
                {
                    KvBytes.AppendVarint(output, (ulong)op.Lease);
                }
            }
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote; bounds every count and length before allocating for it.</summary>
    internal static KvTxn Read(ref ByteReader reader, bool leases)
    {
        var compares = new List<KvTxnCompare>();
        for (var count = ReadCount(ref reader, "compare count"); count > 0; count--)
        {
            var key = reader.ReadLengthPrefixed("compare key", KvLimits.KeyBytesMax, nameof(KvLimits.KeyBytesMax)).ToArray();
            var target = reader.ReadByte("compare target");
            var op = reader.ReadByte("compare op");
            if (target is < (byte)KvCompareTarget.Version or > (byte)KvCompareTarget.Value || op is < (byte)KvCompareOp.Equal or > (byte)KvCompareOp.Greater)
            {
                throw new KvFormatException($"The transaction has a compare with target {target} and op {op}; targets are 1 to 4 and ops 1 to 4.");
            }

            var number = reader.ReadVarint("compare number");
            var value = reader.ReadLengthPrefixed("compare value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax)).ToArray();
            compares.Add(new KvTxnCompare(key, new KvCondition((KvCompareTarget)target, (KvCompareOp)op, (long)number, value)));
        }

        return new KvTxn(compares, ReadOps(ref reader, "success", leases), ReadOps(ref reader, "failure", leases));
    }

    private static List<KvTxnOp> ReadOps(ref ByteReader reader, string branch, bool leases)
    {
        var ops = new List<KvTxnOp>();
        // The branch names each field in errors only: no name is built per field read.
        reader.FieldPrefix = branch == "success" ? "success " : "failure ";
        for (var count = ReadCount(ref reader, "count"); count > 0; count--)
        {
            var kind = reader.ReadByte("operation");
            if (kind is < (byte)KvTxnOpKind.Put or > (byte)KvTxnOpKind.Range)
            {
                throw new KvFormatException($"The transaction's {branch} branch has operation {kind}; operations are 1 (put) to 4 (range).");
            }

            var key = reader.ReadLengthPrefixed("key", KvLimits.KeyBytesMax + 1, "KeyBytesMax + 1").ToArray();
            var value = reader.ReadLengthPrefixed("value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax)).ToArray();
            var end = reader.ReadLengthPrefixed("range end", KvLimits.KeyBytesMax + 1, "KeyBytesMax + 1").ToArray();
            var limit = reader.ReadVarint("limit");
            if (limit > int.MaxValue)
            {
                throw new KvFormatException($"The transaction's {branch} branch has a range limit of {limit}, over {int.MaxValue}.");
            }

            var lease = leases ? reader.ReadVarint("lease") : 0;
            if (lease > (ulong)RequestRules.LeaseIdMax)
            {
                throw new KvFormatException($"The transaction's {branch} branch names lease {lease}, over the largest lease id ({RequestRules.LeaseIdMax}).");
            }

            ops.Add(new KvTxnOp((KvTxnOpKind)kind, key, value, end, (int)limit, (long)lease));
        }

        reader.FieldPrefix = "";

        return ops;
    }

    private static int ReadCount(ref ByteReader reader, string field)
    {
        var count = reader.ReadVarint(field);
        if (count > KvLimits.TxnOpsMax)
        {
            throw new KvFormatException($"The transaction has a {reader.FieldPrefix}{field} of {count}, over TxnOpsMax ({KvLimits.TxnOpsMax}).");
        }

        return (int)count;
    }

    public bool Equals(KvTxn? other) =>
        other is not null && Compares.SequenceEqual(other.Compares) && Success.SequenceEqual(other.Success) && Failure.SequenceEqual(other.Failure);

    public override int GetHashCode() => HashCode.Combine(Compares.Count, Success.Count, Failure.Count);
}

/// <summary>
/// One operation's answer, for the key it named: a get's entry (null: absent), a put's revisions (without the value it
/// wrote), a range's keys (all the reads of one transaction share one answer's bounds), whether a delete removed a key.
/// </summary>
public sealed record KvTxnOpResult(KvTxnOpKind Kind, byte[] Key, KvEntry? Entry = null, KvRangeResult? Range = null, bool Existed = false);

/// <summary>A transaction's answer: which branch ran, and each of its operations' answers in order.</summary>
public sealed record KvTxnResult(bool Succeeded, IReadOnlyList<KvTxnOpResult> Results);
