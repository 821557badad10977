using Synod.Kv;

namespace Synod.Benchmarks;

/// <summary>
/// An encoded put whose client id, sequence and key can be rewritten in place, so that a benchmark can hand the state
/// machine an endless stream of fresh commands without encoding (and allocating) each one. That needs every field
/// before the value at a fixed width: client ids with the top bit set (10 varint bytes, as half of all random ids
/// are), sequences in [2^21, 2^28) (4 varint bytes) and keys "key-" plus twelve digits (16 bytes). The layout is
/// checked against <see cref="KvCommand.Decode"/> once, when the template is made.
/// </summary>
internal static class PatchedPut
{
    public const ulong SequenceMin = 1UL << 21;
    private const ulong SequenceLimit = 1UL << 28;
    private const int ClientIdOffset = 2;
    private const int ClientIdBytes = 10;
    private const int SequenceOffset = ClientIdOffset + ClientIdBytes;
    private const int SequenceBytes = 4;

    /// <summary>After the sequence, one byte of key length, then "key-".</summary>
    private const int KeyDigitsOffset = SequenceOffset + SequenceBytes + 1 + 4;

    private const int KeyDigits = 12;

    public static ulong[] ClientIds(int count) =>
        [.. SampleCommands.ClientIds(count, seed: 41).Select(id => id | (1UL << 63))];

    public static byte[] Template(byte[] value)
    {
        var template = SampleCommands.Put(ulong.MaxValue, SequenceMin, keyIndex: 0, value);
        Rewrite(template, 1UL << 63 | 12_345, SequenceMin + 678, 9_012);
        var decoded = KvCommand.Decode(template);
        if (decoded.ClientId != (1UL << 63 | 12_345) || decoded.Sequence != SequenceMin + 678 || !decoded.Key.AsSpan().SequenceEqual(SampleCommands.Key(9_012)))
        {
            throw new InvalidOperationException("The KvCommand encoding no longer has the layout PatchedPut rewrites; update its offsets.");
        }

        return template;
    }

    public static void Rewrite(byte[] command, ulong clientId, ulong sequence, long keyIndex)
    {
        if (clientId < 1UL << 63 || sequence < SequenceMin || sequence >= SequenceLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), "A client id or sequence outside the fixed-width range would change the layout.");
        }

        WriteVarint(command.AsSpan(ClientIdOffset, ClientIdBytes), clientId);
        WriteVarint(command.AsSpan(SequenceOffset, SequenceBytes), sequence);
        var digits = command.AsSpan(KeyDigitsOffset, KeyDigits);
        for (var i = KeyDigits - 1; i >= 0; i--)
        {
            digits[i] = (byte)('0' + (keyIndex % 10));
            keyIndex /= 10;
        }
    }

    /// <summary>LEB128 filling exactly the span; the callers' ranges make that the canonical encoding.</summary>
    private static void WriteVarint(Span<byte> target, ulong value)
    {
        for (var i = 0; i < target.Length - 1; i++)
        {
            target[i] = (byte)(value | 0x80);
            value >>= 7;
        }

        target[^1] = (byte)value;
    }
}
