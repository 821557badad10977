namespace Synod.Kv;

/// <summary>
/// Writes into a span that the caller sized exactly beforehand, so encoding never reallocates.
/// Running past the end is a sizing bug, and the span's own bounds check turns it into an exception.
/// </summary>
internal ref struct ByteWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public ByteWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;

    public void WriteByte(byte value)
    {
        _buffer[_position] = value;
        _position++;
    }

    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position] = (byte)(value | 0x80);
            _position++;
            value >>= 7;
        }

        _buffer[_position] = (byte)value;
        _position++;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }

    /// <summary>Writes a length varint followed by the bytes.</summary>
    public void WriteLengthPrefixed(ReadOnlySpan<byte> bytes)
    {
        WriteVarint((ulong)bytes.Length);
        WriteBytes(bytes);
    }
}
