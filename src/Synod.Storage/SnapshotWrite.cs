namespace Synod.Storage;

/// <summary>
/// The slow half of taking a snapshot: <see cref="Run"/> writes <c>snap/&lt;slot&gt;.tmp</c>, syncs it, renames it to
/// <c>snap/&lt;slot&gt;.snap</c> and syncs the directory. It touches no file the owner thread uses, so it may run on
/// any thread; afterwards the owner calls <see cref="ReplicaStorage.CompleteSnapshot"/>.
/// </summary>
public sealed class SnapshotWrite
{
    private readonly IDisk _disk;
    private readonly string _directory;
    private readonly ReadOnlyMemory<byte> _data;
    private int _done;

    internal SnapshotWrite(IDisk disk, string snapshotDirectory, long slot, ReadOnlyMemory<byte> data)
    {
        _disk = disk;
        _directory = snapshotDirectory;
        _data = data;
        Slot = slot;
        Path = System.IO.Path.Combine(snapshotDirectory, StorageLayout.SnapshotFileName(slot));
    }

    public long Slot { get; }

    public int DataBytes => _data.Length;

    /// <summary>The bytes written: the snapshot's memory, held until <see cref="Run"/> returns.</summary>
    internal ReadOnlyMemory<byte> Data => _data;

    /// <summary>Where the snapshot ends up.</summary>
    public string Path { get; }

    public bool IsDone => Volatile.Read(ref _done) == 1;

    public void Run()
    {
        if (IsDone)
        {
            throw new InvalidOperationException($"The snapshot write for slot {Slot} has already run.");
        }

        // The header, then the data from the caller's memory itself: no copy of the whole state. Its checksum is of that
        // memory, which is shared (the core holds it too) and must never be written to once it is a snapshot: a
        // change between the checksum and the write would leave a file that recovery refuses as damaged.
        var header = SnapshotFile.Header(Slot, _data.Span);
        var temporary = System.IO.Path.Combine(_directory, StorageLayout.TemporarySnapshotFileName(Slot));
        using (var file = _disk.Open(temporary))
        {
            file.Truncate(0);
            file.Append(header);
            file.Append(_data.Span);
            file.Sync();
        }

        _disk.Rename(temporary, Path);
        _disk.SyncDirectory(_directory);
        Volatile.Write(ref _done, 1);
    }
}
