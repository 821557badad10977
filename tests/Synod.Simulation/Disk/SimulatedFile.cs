using Synod.Storage;
namespace Synod.Simulation;

/// <summary>
/// The content of one simulated file: what the last sync made durable, and what was written since (anywhere at or
/// before the end, so that zeros written ahead can be written over). A crash keeps the durable content and, with a torn
/// write, a prefix of whole sectors of what was written since: sectors are what a disk writes atomically, so a record
/// cut by a crash ends at a sector boundary, and what follows is what the disk held before (zeros where it held nothing).
/// </summary>
internal sealed class SimulatedFile
{
    private byte[] _bytes = [];
    private byte[] _durable = [];

    /// <summary>The lowest offset written since the last sync; long.MaxValue when nothing was.</summary>
    private long _dirtyFrom = long.MaxValue;

    public long Length { get; private set; }

    public long SyncedLength { get; private set; }

    public long UnsyncedBytes => _dirtyFrom >= Length ? 0 : Length - _dirtyFrom;

    /// <summary>Sectors holding bytes written since the last sync (what a torn write keeps a prefix of).</summary>
    public long UnsyncedSectors => UnsyncedBytes == 0 ? 0 : ((Length - 1) / RecordFormat.SectorBytes) - (_dirtyFrom / RecordFormat.SectorBytes) + 1;

    public void Append(ReadOnlySpan<byte> bytes) => Write(Length, bytes);

    /// <summary>Writes at an offset at or before the end (over zeros written ahead, or at the end).</summary>
    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        if (offset > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"a simulated file of {Length} bytes is written at or before its end.");
        }

        var needed = offset + bytes.Length;
        Grow(ref _bytes, needed);
        bytes.CopyTo(_bytes.AsSpan((int)offset));
        Length = Math.Max(Length, needed);
        if (bytes.Length > 0)
        {
            _dirtyFrom = Math.Min(_dirtyFrom, offset);
        }
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

    /// <summary>
    /// The bytes as a mapping sees them: a view of this file's content, not a copy, so damage done to the file later
    /// (<see cref="Flip"/>) shows in it, as it shows in a real mapping of a file whose sectors rot.
    /// </summary>
    public ReadOnlyMemory<byte> View(long offset, int length) =>
        offset >= 0 && length >= 0 && offset + length <= Length ? _bytes.AsMemory((int)offset, length)
            : throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at offset {offset} are not within a simulated file of {Length} bytes.");

    /// <summary>Cutting a file is modelled as durable at once (like the directory operations).</summary>
    public void Truncate(long length)
    {
        _bytes.AsSpan((int)length, (int)(Length - length)).Clear();
        if (SyncedLength > length)
        {
            _durable.AsSpan((int)length, (int)(SyncedLength - length)).Clear();
            SyncedLength = length;
        }

        Length = length;
        if (_dirtyFrom >= length)
        {
            _dirtyFrom = long.MaxValue;
        }
    }

    public void Sync()
    {
        if (_dirtyFrom < Length)
        {
            Grow(ref _durable, Length);
            _bytes.AsSpan((int)_dirtyFrom, (int)(Length - _dirtyFrom)).CopyTo(_durable.AsSpan((int)_dirtyFrom));
        }

        SyncedLength = Length;
        _dirtyFrom = long.MaxValue;
    }

    /// <summary>
    /// A crash: the durable content survives, and of what was written since, the first <paramref name="keptSectors"/>
    /// sectors (counted from the sector of the lowest offset written). The file is as long as the durable content or the
    /// kept sectors reach, whichever is further; bytes past the durable content that no kept sector covers read as zeros.
    /// </summary>
    public void Crash(long keptSectors)
    {
        if (_dirtyFrom < Length)
        {
            var keptEnd = Math.Min(Length, ((_dirtyFrom / RecordFormat.SectorBytes) + keptSectors) * RecordFormat.SectorBytes);
            var length = Math.Max(SyncedLength, keptEnd);
            for (var offset = Math.Max(keptEnd, _dirtyFrom); offset < length; offset++)
            {
                _bytes[offset] = offset < SyncedLength ? _durable[offset] : (byte)0;
            }

            _bytes.AsSpan((int)length, (int)(Length - length)).Clear();
            Length = length;
        }

        Sync();
    }

    /// <summary>Damages a durable byte as a bad sector would: XOR with a nonzero mask.</summary>
    public void Flip(long offset, byte mask)
    {
        _bytes[offset] ^= mask;
        if (offset < SyncedLength)
        {
            _durable[offset] ^= mask;
        }
    }

    private static void Grow(ref byte[] bytes, long needed)
    {
        if (needed > bytes.Length)
        {
            Array.Resize(ref bytes, (int)Math.Max(needed, Math.Min(Array.MaxLength, Math.Max(4096L, bytes.Length * 2L))));
        }
    }
}
