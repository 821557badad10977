namespace Synod.Kv;

/// <summary>
/// A range read: the keys in [<paramref name="From"/>, <paramref name="To"/>) in bytewise order (an empty
/// <paramref name="To"/>: every key from <paramref name="From"/> on), at most <paramref name="Limit"/> of them (0: as
/// many as <see cref="KvLimits.RangeKeysMax"/> allows), with or without their values, or only their count.
/// </summary>
public sealed record KvRange(byte[] From, byte[] To, int Limit = 0, bool KeysOnly = false, bool CountOnly = false)
{
    /// <summary>The range of every key that begins with <paramref name="prefix"/> (all keys for an empty prefix).</summary>
    public static KvRange Prefix(byte[] prefix, int limit = 0, bool keysOnly = false, bool countOnly = false) =>
        new(prefix, PrefixEnd(prefix), limit, keysOnly, countOnly);

    /// <summary>The first key after every key that begins with <paramref name="prefix"/>; empty when there is none.</summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix) => RequestRules.PrefixEnd(prefix);

    /// <summary>True if <paramref name="key"/> lies in the range.</summary>
    public bool Contains(ReadOnlySpan<byte> key) =>
        key.SequenceCompareTo(From) >= 0 && (To.Length == 0 || key.SequenceCompareTo(To) < 0);

    /// <summary>The sentence saying what is wrong with the range, or null if it may be read.</summary>
    public string? Problem() =>
        From.Length > KvLimits.KeyBytesMax + 1 ? $"The range's start is {From.Length} bytes, over KeyBytesMax + 1 ({KvLimits.KeyBytesMax + 1} bytes)."
        : To.Length > KvLimits.KeyBytesMax + 1 ? $"The range's end is {To.Length} bytes, over KeyBytesMax + 1 ({KvLimits.KeyBytesMax + 1} bytes)."
        : Limit < 0 ? $"The range's limit is {Limit}; give 0 (no limit of your own) or a positive number."
        : KeysOnly && CountOnly ? "A range is keys-only or count-only, not both."
        : null;
}

/// <summary>
/// A range read's answer: the keys found (in order, each with its entry; with a keys-only range the entries' values
/// are empty), whether more keys lie in the range than were returned, and how many keys the range holds in all.
/// </summary>
public sealed record KvRangeResult(IReadOnlyList<(byte[] Key, KvEntry Entry)> Entries, bool More, long Count);
