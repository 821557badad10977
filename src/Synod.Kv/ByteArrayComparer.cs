using System.IO.Hashing;

namespace Synod.Kv;

/// <summary>
/// Compares keys by content. It also answers lookups by <see cref="ReadOnlySpan{T}"/> without allocating
/// (through <c>Dictionary.GetAlternateLookup</c>), and orders keys bytewise so that snapshots and hashes
/// never depend on dictionary enumeration order.
/// </summary>
internal sealed class ByteArrayComparer :
    IEqualityComparer<byte[]>,
    IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>,
    IComparer<byte[]>
{
    public static readonly ByteArrayComparer Instance = new();

    private ByteArrayComparer()
    {
    }

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    // Truncating the 64-bit hash is fine: the dictionary only needs a well-mixed int, and this hash never
    // reaches a snapshot, so its value may differ between versions without harm.
    public int GetHashCode(ReadOnlySpan<byte> alternate) => unchecked((int)XxHash3.HashToUInt64(alternate));

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
