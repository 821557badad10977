using Synod.Storage;
namespace Synod.Simulation;

/// <summary>
/// An open handle to a <see cref="SimulatedFile"/>; after a crash it belongs to a dead process and refuses every use.
/// A log file (allocateAhead) keeps zeros written ahead of its end, as <see cref="RealDiskFile"/> does, in smaller
/// chunks: after an append at least <see cref="SimulatedDisk.AllocateAheadMarginBytes"/> zeros follow it.
/// </summary>
internal sealed class SimulatedDiskFile(SimulatedDisk disk, SimulatedFile file, string path, long generation, bool allocateAhead) : IDiskFile
{
    /// <summary>Where the data ends; the file may go on in zeros written ahead. Everything on disk counts when opened.</summary>
    private long _length = file.Length;

    public string Path { get; } = path;

    public long Length
    {
        get
        {
            CheckAlive();
            return _length;
        }
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        CheckAlive();
        disk.BeginOperation("append", Path);
        var end = _length + bytes.Length;
        if (allocateAhead && end + SimulatedDisk.AllocateAheadMarginBytes > file.Length)
        {
            file.Write(file.Length, new byte[end + SimulatedDisk.AllocateAheadChunkBytes - file.Length]);
        }

        file.Write(_length, bytes);
        _length = end;
        disk.CountWrite(bytes.Length);
    }

    public int Read(long offset, Span<byte> buffer)
    {
        CheckAlive();
        return file.Read(offset, buffer);
    }

    public bool ReleaseAllocatedAhead()
    {
        CheckAlive();
        if (file.Length == _length)
        {
            return false;
        }

        disk.BeginOperation("truncate", Path);
        file.Truncate(_length);
        return true;
    }

    public void Truncate(long length)
    {
        CheckAlive();
        if (length < 0 || length > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{Path} is {_length} bytes long; it can only be cut to a length within 0..{_length}.");
        }

        disk.BeginOperation("truncate", Path);
        file.Truncate(length);
        _length = length;
    }

    public void Sync()
    {
        CheckAlive();
        disk.BeginOperation("sync", Path);
        disk.CountFileSync();
        if (!(disk.SkipFsync && Path.EndsWith(StorageLayout.SegmentExtension, StringComparison.Ordinal)))
        {
            file.Sync();
        }
    }

    public void Dispose()
    {
    }

    private void CheckAlive()
    {
        if (disk.Generation != generation)
        {
            throw new IOException($"{Path} was opened before a simulated crash; a handle of the crashed process cannot be used.");
        }
    }
}
