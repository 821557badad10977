namespace Synod.Storage;

/// <summary>
/// The content of one simulated file: a prefix that is synced (survives a crash) followed by bytes that were written
/// but not yet synced. Files only grow at the end, except by <see cref="Truncate"/>.
/// </summary>
internal sealed class SimulatedFile
{
    private byte[] _bytes = [];

    public long Length { get; private set; }

    public long SyncedLength { get; private set; }

    public long UnsyncedBytes => Length - SyncedLength;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        var needed = Length + bytes.Length;
        if (needed > _bytes.Length)
        {
            Array.Resize(ref _bytes, (int)Math.Max(needed, Math.Min(Array.MaxLength, Math.Max(4096L, _bytes.Length * 2L))));
        }

        bytes.CopyTo(_bytes.AsSpan((int)Length));
        Length = needed;
    }

    public int Read(long offset, Span<byte> buffer)
    {
        if (offset >= Length)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, Length - offset);
        _bytes.AsSpan((int)offset, count).CopyTo(buffer);
        return count;
    }

    public byte[] ReadAll() => _bytes.AsSpan(0, (int)Length).ToArray();

    /// <summary>Cutting a file is modelled as durable at once (like the directory operations).</summary>
    public void Truncate(long length)
    {
        _bytes.AsSpan((int)length, (int)(Length - length)).Clear();
        Length = length;
        SyncedLength = Math.Min(SyncedLength, length);
    }

    public void Sync() => SyncedLength = Length;

    /// <summary>A crash keeps the synced bytes and the first <paramref name="keptUnsyncedBytes"/> of the rest.</summary>
    public void Crash(long keptUnsyncedBytes)
    {
        Truncate(SyncedLength + keptUnsyncedBytes);
        SyncedLength = Length;
    }

    /// <summary>Damages a byte as a bad sector would: XOR with a nonzero mask.</summary>
    public void Flip(long offset, byte mask) => _bytes[offset] ^= mask;
}
