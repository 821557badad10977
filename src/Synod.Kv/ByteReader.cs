namespace Synod.Kv;

/// <summary>
/// Reads what <see cref="ByteWriter"/> wrote and turns every kind of malformed input into a
/// <see cref="KvFormatException"/> that names the thing being read, the field and the offset, so that
/// bad bytes from the network or a disk never surface as an index or overflow exception.
/// </summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly string _subject;
    private int _position;

    /// <param name="buffer">The bytes to read.</param>
    /// <param name="subject">What the bytes should hold, for messages ("KvCommand", "snapshot body").</param>
    public ByteReader(ReadOnlySpan<byte> buffer, string subject)
    {
        _buffer = buffer;
        _subject = subject;
        _position = 0;
        FieldPrefix = "";
    }

    public readonly int Position => _position;

    /// <summary>
    /// Put before every field's name in errors ("success " for a transaction's branch), so that a reader of many
    /// similar fields names each without building a name for every field it reads.
    /// </summary>
    public string FieldPrefix { get; set; }

    public readonly int Remaining => _buffer.Length - _position;

    public byte ReadByte(string field)
    {
        if (_position >= _buffer.Length)
        {
            throw Truncated(field, 1);
        }

        var value = _buffer[_position];
        _position++;
        return value;
    }

    public ulong ReadVarint(string field) => ReadVarint(field, null);

    /// <summary>
    /// Reads a varint named <paramref name="field"/> followed by <paramref name="suffix"/> in its errors: the name is
    /// joined only when the input is bad, so that a command's decoding (on every replica, for every command) builds no
    /// string.
    /// </summary>
    private ulong ReadVarint(string field, string? suffix)
    {
        var start = _position;
        ulong value = 0;
        for (var index = 0; index < Varint.UInt64BytesMax; index++)
        {
            if (_position >= _buffer.Length)
            {
                throw new KvFormatException(
                    $"The {_subject} is truncated: the varint {FieldPrefix}{field}{suffix} starting at offset {start} has no last byte.");
            }

            var current = _buffer[_position];
            _position++;
            var shift = 7 * index;

            // The tenth byte holds only bit 63; anything more would not fit in 64 bits.
            if (index == Varint.UInt64BytesMax - 1 && current > 1)
            {
                throw new KvFormatException($"The {_subject} has a varint {FieldPrefix}{field}{suffix} at offset {start} that overflows 64 bits.");
            }

            value |= (ulong)(current & 0x7F) << shift;
            if ((current & 0x80) == 0)
            {
                return value;
            }
        }

        throw new KvFormatException(
            $"The {_subject} has a varint {FieldPrefix}{field}{suffix} at offset {start} longer than {Varint.UInt64BytesMax} bytes.");
    }

    /// <summary>Reads a varint length, checks it against <paramref name="lengthMax"/>, then reads that many bytes.</summary>
    public ReadOnlySpan<byte> ReadLengthPrefixed(string field, int lengthMax, string limitName)
    {
        var lengthOffset = _position;
        var length = ReadVarint(field, " length");
        if (length > (ulong)lengthMax)
        {
            throw new KvFormatException(
                $"The {_subject} has a {FieldPrefix}{field} length of {length} bytes at offset {lengthOffset}, over {limitName} ({lengthMax} bytes).");
        }

        return ReadBytes((int)length, field);
    }

    public ReadOnlySpan<byte> ReadBytes(int count, string field)
    {
        if (count > Remaining)
        {
            throw Truncated(field, count);
        }

        var bytes = _buffer.Slice(_position, count);
        _position += count;
        return bytes;
    }

    /// <summary>Rejects trailing bytes, which mean the input is not what the writer produced.</summary>
    public readonly void ExpectEnd()
    {
        if (Remaining != 0)
        {
            throw new KvFormatException(
                $"The {_subject} has {Remaining} unexpected trailing bytes after offset {_position}.");
        }
    }

    private readonly KvFormatException Truncated(string field, int needed) =>
        new($"The {_subject} is truncated: the {FieldPrefix}{field} needs {needed} bytes at offset {_position} but only {Remaining} remain.");
}
