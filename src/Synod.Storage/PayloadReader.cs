using System.Buffers.Binary;

namespace Synod.Storage;

/// <summary>Reads a record payload field by field, refusing to run past its end or to trust a negative count.</summary>
internal ref struct PayloadReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> _payload = payload;
    private int _position;

    public readonly int Remaining => _payload.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>A length-prefixed count, checked against what is left so that a bad count cannot allocate.</summary>
    public int ReadCount(int bytesEach)
    {
        var count = ReadInt32();
        if (count < 0 || (long)count * bytesEach > Remaining)
        {
            throw new MalformedRecordException($"a count of {count} does not fit the {Remaining} bytes left");
        }

        return count;
    }

    public byte[] ReadBytes(int count) => Take(count).ToArray();

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
        {
            throw new MalformedRecordException($"a field of {count} bytes runs past the end of the payload ({Remaining} bytes left)");
        }

        var span = _payload.Slice(_position, count);
        _position += count;
        return span;
    }
}
