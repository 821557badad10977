using System.Text;

namespace Synod.Client;

/// <summary>
/// The keys a range read asks for: [<paramref name="From"/>, <paramref name="To"/>) in bytewise order (an empty
/// <paramref name="To"/>: every key from <paramref name="From"/> on), at most <paramref name="Limit"/> of them (0: no
/// limit of the caller's own; a replica returns at most 10,000 keys or 4 MiB and says there is more), with or without
/// values, or only their count; as they are now, or as they were at <see cref="Revision"/>.
/// </summary>
public sealed record SynodRange(ReadOnlyMemory<byte> From, ReadOnlyMemory<byte> To, long Limit = 0, bool KeysOnly = false, bool CountOnly = false)
{
    /// <summary>The revision to read the range at (0: the current one), within the history the replicas keep.</summary>
    public long Revision { get; init; }

    /// <summary>Every key that begins with <paramref name="prefix"/> (all keys for an empty one).</summary>
    public static SynodRange Prefix(ReadOnlyMemory<byte> prefix, long limit = 0, bool keysOnly = false, bool countOnly = false) =>
        new(prefix, RequestRules.PrefixEnd(prefix.Span), limit, keysOnly, countOnly);

    /// <summary>Every key that begins with <paramref name="prefix"/> in UTF-8.</summary>
    public static SynodRange Prefix(string prefix, long limit = 0, bool keysOnly = false, bool countOnly = false) =>
        Prefix(Encoding.UTF8.GetBytes(prefix), limit, keysOnly, countOnly);

    /// <summary>[<paramref name="from"/>, <paramref name="to"/>) in UTF-8; an empty <paramref name="to"/> has no end.</summary>
    public static SynodRange Between(string from, string to, long limit = 0) => new(Encoding.UTF8.GetBytes(from), Encoding.UTF8.GetBytes(to), limit);
}

/// <summary>One key of a range read, with its revisions (its value is empty for a keys-only range).</summary>
public sealed record SynodKeyValue(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version)
{
    public string KeyAsString() => Encoding.UTF8.GetString(Key.Span);

    public string ValueAsString() => Encoding.UTF8.GetString(Value.Span);
}

/// <summary>
/// A range read's answer, from one applied state of one replica: the keys (in order), whether the range holds more
/// than were returned, how many it holds in all, and the revision read.
/// </summary>
public sealed record RangeResult(
    IReadOnlyList<SynodKeyValue> Kvs, bool More, long Count, long Revision, uint ServedBy, ulong AppliedSlot, ulong LagSlots, string Endpoint);
