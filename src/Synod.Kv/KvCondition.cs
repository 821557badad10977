namespace Synod.Kv;

/// <summary>What a <see cref="KvCondition"/> looks at. The numeric values are part of the wire encoding.</summary>
public enum KvCompareTarget : byte
{
    /// <summary>The key's version: writes since it was created; 0 when it is absent.</summary>
    Version = 1,

    /// <summary>The revision that created the key; 0 when it is absent.</summary>
    CreateRevision = 2,

    /// <summary>The revision that last wrote the key; 0 when it is absent.</summary>
    ModRevision = 3,

    /// <summary>The key's value, compared bytewise; an absent key has no value, and every comparison with it is false.</summary>
    Value = 4,
}

/// <summary>How a <see cref="KvCondition"/> compares. The numeric values are part of the wire encoding.</summary>
public enum KvCompareOp : byte
{
    Equal = 1,
    NotEqual = 2,
    Less = 3,
    Greater = 4,
}

/// <summary>
/// A condition on the key a write names: the write takes effect only if it holds when the write is applied, in log
/// order, on every replica alike (compare-and-swap); otherwise nothing changes and the answer is
/// <see cref="KvStatus.CompareFailed"/>, with the key's current version and mod revision.
/// </summary>
/// <param name="Target">What is compared.</param>
/// <param name="Op">How.</param>
/// <param name="Number">The operand for Version, CreateRevision and ModRevision; 0 for Value.</param>
/// <param name="Value">The operand for Value; empty otherwise.</param>
public sealed record KvCondition(KvCompareTarget Target, KvCompareOp Op, long Number, byte[] Value)
{
    /// <summary>"The key does not exist": its version is 0.</summary>
    public static KvCondition Absent { get; } = new(KvCompareTarget.Version, KvCompareOp.Equal, 0, []);

    /// <summary>Whether the condition holds for the key's entry (null: the key is absent).</summary>
    public bool Holds(KvEntry? entry)
    {
        if (Target == KvCompareTarget.Value)
        {
            if (entry is not { } present)
            {
                return false;
            }

            return Compare(present.Value.Span.SequenceCompareTo(Value));
        }

        var actual = Target switch
        {
            KvCompareTarget.Version => entry?.Version ?? 0,
            KvCompareTarget.CreateRevision => entry?.CreateRevision ?? 0,
            _ => entry?.ModRevision ?? 0,
        };
        return Compare(actual.CompareTo(Number));
    }

    private bool Compare(int order) => Op switch
    {
        KvCompareOp.Equal => order == 0,
        KvCompareOp.NotEqual => order != 0,
        KvCompareOp.Less => order < 0,
        _ => order > 0,
    };

    public bool Equals(KvCondition? other) =>
        other is not null && Target == other.Target && Op == other.Op && Number == other.Number && Value.AsSpan().SequenceEqual(other.Value);

    public override int GetHashCode() => HashCode.Combine(Target, Op, Number, Value.Length);

    public override string ToString() => Target == KvCompareTarget.Value
        ? $"value {OpText} {Value.Length} bytes"
        : $"{Target} {OpText} {Number}";

    private string OpText => Op switch
    {
        KvCompareOp.Equal => "=",
        KvCompareOp.NotEqual => "!=",
        KvCompareOp.Less => "<",
        _ => ">",
    };
}
