namespace Synod.Storage;

/// <summary>
/// A real file: unbuffered positional writes at the end (one pwrite per append), fdatasync on Linux. A log file
/// (allocateAhead) keeps zeros written ahead of its end: an append into them leaves the file's size alone, so the
/// fdatasync after it writes the data and nothing else. Appending past the size would make every fdatasync write the
/// inode too; on this project's test VM that was 50-90 µs of a 0.7 ms write at one client (docs/performance.md).
/// </summary>
internal sealed class RealDiskFile : IDiskFile
{
    /// <summary>Zeros written at a time when an append comes near the end of those allocated ahead.</summary>
    private const int AllocateAheadChunkBytes = 1024 * 1024;

    /// <summary>
    /// After an append, at least this many zeros follow it, or none: recovery takes a run of zeros of a sector or more
    /// that reaches the end of the last segment for its unused end, and a shorter run for damage.
    /// </summary>
    private const int AllocateAheadMarginBytes = 4096;

    private static readonly byte[] Zeros = new byte[AllocateAheadChunkBytes];

    /// <summary>
    /// An append longer than this to a file without zeros allocated ahead (a snapshot's file, not the WAL's, whose
    /// appends the owner loop makes and must not wait on the disk for) is written in pieces that end at multiples of it,
    /// each handed to the disk as soon as it is written (write-behind), about two pieces in the disk's queue at most:
    /// otherwise the page cache holds the whole file until the <see cref="Sync"/> that follows, which then writes it all
    /// at once, after the copy rather than during it, and queues a WAL's small fdatasync behind hundreds of megabytes.
    /// 8 MiB: a concurrent 4 KiB fdatasync's worst latency was 30 ms with synced 8 MiB pieces against 67-155 ms with
    /// whole 80 MiB files (docs/performance.md, "Where the cost goes"). Durability is unchanged: only
    /// <see cref="Sync"/> promises it.
    /// </summary>
    internal const int WriteBehindPieceBytes = 8 * 1024 * 1024;

    private readonly FileStream _stream;
    private readonly bool _allocateAhead;
    private long _length;

    /// <summary>The file's size on disk: <see cref="_length"/> plus the zeros allocated ahead of it.</summary>
    private long _allocated;

    public RealDiskFile(string path, bool allocateAhead)
    {
        Path = path;
        _allocateAhead = allocateAhead;

        // bufferSize 0: the storage batches its own writes, and a FileStream buffer would only hide them from Sync.
        _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

        // Everything on disk counts until recovery has read it: zeros allocated ahead by an earlier run are found as
        // the log's unused end and cut off (Truncate).
        _length = RandomAccess.GetLength(_stream.SafeFileHandle);
        _allocated = _length;
    }

    public string Path { get; }

    public long Length => _length;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        var end = _length + bytes.Length;
        if (_allocateAhead && end + AllocateAheadMarginBytes > _allocated)
        {
            // Zeros first, then the data over their start; the next Sync makes both durable, with the new size, once.
            for (var target = end + AllocateAheadChunkBytes; _allocated < target;)
            {
                var zeros = (int)Math.Min(Zeros.Length, target - _allocated);
                RandomAccess.Write(_stream.SafeFileHandle, Zeros.AsSpan(0, zeros), _allocated);
                _allocated += zeros;
            }
        }

        if (bytes.Length > WriteBehindPieceBytes && !_allocateAhead && NativeSync.Supported)
        {
            WriteBehind(bytes, _length);
        }
        else
        {
            RandomAccess.Write(_stream.SafeFileHandle, bytes, _length);
        }

        _length = end;
        _allocated = Math.Max(_allocated, end);
    }

    public int Read(long offset, Span<byte> buffer)
    {
        var total = 0;
        var readable = (int)Math.Clamp(_length - offset, 0, buffer.Length);
        while (total < readable)
        {
            var read = RandomAccess.Read(_stream.SafeFileHandle, buffer[total..readable], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    public void Truncate(long length)
    {
        if (length < 0 || length > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{Path} is {_length} bytes long; it can only be cut to a length within 0..{_length}.");
        }

        _stream.SetLength(length);
        _length = length;
        _allocated = length;
    }

    public bool ReleaseAllocatedAhead()
    {
        if (_allocated == _length)
        {
            return false;
        }

        _stream.SetLength(_length);
        _allocated = _length;
        return true;
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> at <paramref name="offset"/> piece by piece, each piece's writeback begun at once
    /// and the one before it waited for (<see cref="WriteBehindPieceBytes"/>). The pieces end at multiples of the piece
    /// size in the file, so that no page is sent half written and written again by the next piece.
    /// </summary>
    private void WriteBehind(ReadOnlySpan<byte> bytes, long offset)
    {
        var handle = _stream.SafeFileHandle;
        long previousStart = -1, previousLength = 0;
        for (var done = 0; done < bytes.Length;)
        {
            var at = offset + done;
            var piece = (int)Math.Min(WriteBehindPieceBytes - (at % WriteBehindPieceBytes), bytes.Length - done);
            RandomAccess.Write(handle, bytes.Slice(done, piece), at);
            NativeSync.StartWriteback(handle, at, piece, Path);
            if (previousStart >= 0)
            {
                NativeSync.AwaitWriteback(handle, previousStart, previousLength, Path);
            }

            (previousStart, previousLength) = (at, piece);
            done += piece;
        }
    }

    public void Sync()
    {
        if (NativeSync.Supported)
        {
            NativeSync.SyncData(_stream.SafeFileHandle, Path);
        }
        else
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose() => _stream.Dispose();
}
