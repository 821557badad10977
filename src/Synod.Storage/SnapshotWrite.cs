namespace Synod.Storage;

/// <summary>
/// The slow half of taking a snapshot: <see cref="Run"/> writes <c>snap/&lt;slot&gt;.tmp</c>, syncs it, renames it to
/// <c>snap/&lt;slot&gt;.snap</c> and syncs the directory. It touches no file the owner thread uses, so it may run on
/// any thread; afterwards the owner calls <see cref="ReplicaStorage.CompleteSnapshot"/>. A snapshot installed from a
/// peer may have its temporary file written beforehand (<see cref="WriteTemporary"/>, from
/// <see cref="ReplicaStorage.PrepareInstall"/>): then <see cref="Run"/> only publishes it.
/// </summary>
public sealed class SnapshotWrite
{
    private const int Fresh = 0;
    private const int WritingTemporary = 1;
    private const int TemporaryWritten = 2;
    private const int Abandoned = 3;

    private readonly IDisk _disk;
    private readonly string _directory;
    private readonly ReadOnlyMemory<byte> _data;
    private readonly bool _skipTemporarySyncBug;
    private int _temporary;
    private int _done;

    internal SnapshotWrite(IDisk disk, string snapshotDirectory, long slot, ReadOnlyMemory<byte> data, bool skipTemporarySyncBug = false)
    {
        _disk = disk;
        _directory = snapshotDirectory;
        _data = data;
        _skipTemporarySyncBug = skipTemporarySyncBug;
        Slot = slot;
        Path = System.IO.Path.Combine(snapshotDirectory, StorageLayout.SnapshotFileName(slot));
        TemporaryPath = System.IO.Path.Combine(snapshotDirectory, StorageLayout.TemporarySnapshotFileName(slot));
    }

    public long Slot { get; }

    public int DataBytes => _data.Length;

    /// <summary>The bytes written: the snapshot's memory, held until <see cref="Run"/> returns.</summary>
    internal ReadOnlyMemory<byte> Data => _data;

    /// <summary>Where the snapshot ends up.</summary>
    public string Path { get; }

    /// <summary>Where it is written first: a file recovery deletes unread.</summary>
    internal string TemporaryPath { get; }

    public bool IsDone => Volatile.Read(ref _done) == 1;

    /// <summary>
    /// Writes and syncs the temporary file, on any thread, and publishes nothing: recovery deletes a temporary file, so
    /// this may run before the records that must be durable ahead of the snapshot are. Returns false, having done
    /// nothing, if the write was already claimed (<see cref="Run"/> wrote it itself, or it was abandoned). On failure
    /// the write is as fresh: <see cref="Run"/> tries it all again.
    /// </summary>
    public bool WriteTemporary()
    {
        if (Interlocked.CompareExchange(ref _temporary, WritingTemporary, Fresh) != Fresh)
        {
            return false;
        }

        WriteClaimed();
        return true;
    }

    /// <summary>The write of the temporary file, once this thread has moved the state from Fresh to WritingTemporary.</summary>
    private void WriteClaimed()
    {
        try
        {
            // The header, then the data from the caller's memory itself: no copy of the whole state. Its checksum is of
            // that memory, which is shared (the core holds it too) and must never be written to once it is a snapshot:
            // a change between the checksum and the write would leave a file that recovery refuses as damaged.
            var header = SnapshotFile.Header(Slot, _data.Span);
            using var file = _disk.Open(TemporaryPath);
            file.Truncate(0);
            file.Append(header);
            file.Append(_data.Span);
            if (!_skipTemporarySyncBug)
            {
                file.Sync();
            }
        }
        catch
        {
            Volatile.Write(ref _temporary, Fresh);
            throw;
        }

        Volatile.Write(ref _temporary, TemporaryWritten);
    }

    /// <summary>
    /// No append carried the snapshot: <see cref="WriteTemporary"/>, if it has not begun, will do nothing, and the
    /// owner deletes the temporary file. Not while <see cref="WriteTemporary"/> runs.
    /// </summary>
    internal void Abandon()
    {
        var was = Interlocked.CompareExchange(ref _temporary, Abandoned, Fresh);
        if (was == WritingTemporary)
        {
            throw new InvalidOperationException($"The prepared snapshot file for slot {Slot} is still being written: let WriteTemporary return before the next Append.");
        }

        Volatile.Write(ref _temporary, Abandoned);
    }

    public void Run()
    {
        if (IsDone)
        {
            throw new InvalidOperationException($"The snapshot write for slot {Slot} has already run.");
        }

        // Claimed here, not checked and then written: a WriteTemporary that another thread began in between must not be
        // published half written.
        switch (Interlocked.CompareExchange(ref _temporary, WritingTemporary, Fresh))
        {
            case Fresh:
                WriteClaimed();
                break;
            case WritingTemporary:
                throw new InvalidOperationException($"The snapshot file for slot {Slot} is still being written on another thread: wait for WriteTemporary to return first.");
            case Abandoned:
                throw new InvalidOperationException($"The snapshot write for slot {Slot} was abandoned: its temporary file is deleted.");
        }

        _disk.Rename(TemporaryPath, Path);
        _disk.SyncDirectory(_directory);
        Volatile.Write(ref _done, 1);
    }
}
