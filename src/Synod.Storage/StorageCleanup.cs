namespace Synod.Storage;

/// <summary>
/// Files a compaction let go, to delete off the owner thread: the WAL segments before the newest checkpoint, oldest
/// first (a crash part way leaves the rest contiguous), then snapshots older than the newest, each directory synced
/// after its deletions. <see cref="ReplicaStorage.TakeCleanup"/> hands one out only once the checkpoint that
/// supersedes those segments is durable, and only one at a time; <see cref="Run"/> may run on any thread, and then the
/// owner calls <see cref="ReplicaStorage.CompleteCleanup"/>.
/// </summary>
public sealed class StorageCleanup
{
    private readonly IDisk _disk;
    private readonly string _walDirectory;
    private readonly string _snapshotDirectory;
    private int _done;

    internal StorageCleanup(IDisk disk, string walDirectory, string snapshotDirectory, IReadOnlyList<string> segments, IReadOnlyList<string> snapshots)
    {
        _disk = disk;
        _walDirectory = walDirectory;
        _snapshotDirectory = snapshotDirectory;
        Segments = segments;
        Snapshots = snapshots;
    }

    /// <summary>WAL segment files to delete, oldest first.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>Snapshot files older than the newest.</summary>
    public IReadOnlyList<string> Snapshots { get; }

    public bool IsDone => Volatile.Read(ref _done) == 1;

    public void Run()
    {
        if (IsDone)
        {
            throw new InvalidOperationException("This cleanup has already run.");
        }

        foreach (var segment in Segments)
        {
            _disk.Delete(segment);
        }

        if (Segments.Count > 0)
        {
            _disk.SyncDirectory(_walDirectory);
        }

        foreach (var snapshot in Snapshots)
        {
            _disk.Delete(snapshot);
        }

        if (Snapshots.Count > 0)
        {
            _disk.SyncDirectory(_snapshotDirectory);
        }

        Volatile.Write(ref _done, 1);
    }
}
