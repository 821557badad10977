namespace Synod.Storage;

/// <summary>An open handle to a <see cref="SimulatedFile"/>; after a crash it belongs to a dead process and refuses every use.</summary>
internal sealed class SimulatedDiskFile(SimulatedDisk disk, SimulatedFile file, string path, long generation) : IDiskFile
{
    public string Path { get; } = path;

    public long Length
    {
        get
        {
            CheckAlive();
            return file.Length;
        }
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        CheckAlive();
        disk.BeginOperation("append", Path);
        file.Append(bytes);
        disk.CountWrite(bytes.Length);
    }

    public int Read(long offset, Span<byte> buffer)
    {
        CheckAlive();
        return file.Read(offset, buffer);
    }

    /// <summary>The simulated disk allocates nothing ahead: its files are exactly as long as what was written.</summary>
    public bool ReleaseAllocatedAhead() => false;

    public void Truncate(long length)
    {
        CheckAlive();
        if (length < 0 || length > file.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{Path} is {file.Length} bytes long; it can only be cut to a length within 0..{file.Length}.");
        }

        disk.BeginOperation("truncate", Path);
        file.Truncate(length);
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
