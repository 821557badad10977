namespace Synod.Kv;

/// <summary>
/// Unsigned LEB128 varints: seven bits per byte, low bits first, the high bit set on every byte but the last.
/// Small numbers (client ids, sequences, lengths) then cost one or two bytes.
/// </summary>
internal static class Varint
{
    /// <summary>The most bytes a 64-bit varint can take (ceil(64 / 7)).</summary>
    public const int UInt64BytesMax = 10;

    public static int Size(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }
}
