using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>Opening a data directory: the lock, then what the mode says to do with what the directory holds.</summary>
public sealed partial class ReplicaStorage
{
    /// <summary>The first segment of a fresh log.</summary>
    private const long FirstSegmentSequence = 1;

    /// <summary>
    /// Opens (or, as the mode allows, initialises) the replica's data directory and recovers its state. Every refusal
    /// is a <see cref="StorageException"/> whose message names the file and says what to do; a disk failure is an
    /// <see cref="IOException"/>; bad options are an <see cref="ArgumentException"/>. A new directory is stamped with
    /// <paramref name="clusterId"/>, and an existing one must carry it (0: the caller names no cluster, nothing is checked).
    /// <paramref name="snapshotRead"/> is given the newest snapshot's data (the bytes of the recovered state's
    /// <see cref="DurableState.SnapshotData"/>) once it is read and checked, before the log's segments are, on this
    /// thread (the log holds no snapshot records, so it is the snapshot recovered).
    /// </summary>
    public static ReplicaStorage Open(
        IDisk disk, string directory, int replicaId, StorageOpenMode mode, StorageOptions options, Action<string> log, ulong clusterId = 0,
        Action<ReadOnlyMemory<byte>>? snapshotRead = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(replicaId);
        options.Validate();
        if (mode == StorageOpenMode.Existing && !disk.IsDirectory(directory))
        {
            throw StorageMessages.NoState(directory);
        }

        disk.CreateDirectory(directory);
        var lockHandle = AcquireLock(disk, directory);
        try
        {
            return OpenLocked(disk, directory, replicaId, clusterId, mode, options, log, lockHandle, snapshotRead);
        }
        catch
        {
            lockHandle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stamps <paramref name="directory"/> (replica <paramref name="replicaId"/>'s) with <paramref name="clusterId"/>,
    /// whatever cluster it names now (`serve --restamp-cluster-id`): the way out when a data directory was stamped with
    /// the wrong --cluster-token (a typo at the first start after an upgrade stamps it for good). Only the meta file
    /// changes; returns the id it named before.
    /// </summary>
    /// <exception cref="StorageException">No state there, another replica's, damaged, or in use by a running replica.</exception>
    public static ulong RestampClusterId(IDisk disk, string directory, int replicaId, ulong clusterId)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(replicaId);
        var path = Path.Combine(directory, StorageLayout.MetaFileName);
        if (!disk.IsDirectory(directory) || !disk.Exists(path))
        {
            throw StorageMessages.NoState(directory);
        }

        using var lockHandle = AcquireLock(disk, directory);
        var (owner, stamped) = MetaFile.Decode(disk.ReadAll(path), path);
        if (owner != replicaId)
        {
            throw new StorageException($"{path} says {directory} belongs to replica {owner}, not to replica {replicaId}; nothing was stamped.");
        }

        WriteMeta(disk, directory, replicaId, clusterId);
        return stamped;
    }

    /// <summary>Reads what the directory holds without changing anything. Pure apart from the reads.</summary>
    internal static DirectoryContents Inspect(IDisk disk, string directory)
    {
        if (disk.Exists(Path.Combine(directory, StorageLayout.MetaFileName)))
        {
            return DirectoryContents.Initialised;
        }

        if (disk.Exists(Path.Combine(directory, StorageLayout.OldLogFileName)))
        {
            return DirectoryContents.OldLayout;
        }

        var wal = Path.Combine(directory, StorageLayout.WalDirectoryName);
        var snap = Path.Combine(directory, StorageLayout.SnapshotDirectoryName);
        var walHasData = disk.IsDirectory(wal) && disk.List(wal).Any(name => HoldsData(disk, Path.Combine(wal, name)));
        var snapHasFiles = disk.IsDirectory(snap) && disk.List(snap).Count > 0;
        return walHasData || snapHasFiles ? DirectoryContents.Partial : DirectoryContents.Empty;
    }

    private static bool HoldsData(IDisk disk, string path) => disk.IsDirectory(path) || disk.ReadAll(path).Length > 0;

    private static ReplicaStorage OpenLocked(
        IDisk disk, string directory, int replicaId, ulong clusterId, StorageOpenMode mode, StorageOptions options, Action<string> log, IDisposable lockHandle,
        Action<ReadOnlyMemory<byte>>? snapshotRead)
    {
        var contents = Inspect(disk, directory);
        if (mode == StorageOpenMode.RebuildFromPeers)
        {
            if (contents != DirectoryContents.Empty)
            {
                MoveStateAside(disk, directory, log);
            }

            return Initialise(disk, directory, replicaId, clusterId, options, log, lockHandle, rebuilding: true);
        }

        switch (contents)
        {
            case DirectoryContents.Initialised:
                return Recover(disk, directory, replicaId, clusterId, options, log, lockHandle, snapshotRead);
            case DirectoryContents.OldLayout:
                throw new StorageException($"{Path.Combine(directory, StorageLayout.OldLogFileName)} is the single-file log of format 1, which this build does not read. " +
                    "Run the build that wrote it, or rejoin with this build: ./synod serve <same flags> --rebuild-from-peers (moves the old file aside into discarded-<n> and rejoins as a non-voter until caught up).");
            case DirectoryContents.Partial:
                throw StorageMessages.Damaged(directory, $"it holds WAL segments or snapshots but no {StorageLayout.MetaFileName} (an initialisation that did not finish, or a damaged directory)");
            case DirectoryContents.Empty when mode == StorageOpenMode.NewCluster:
                RefuseIfStateWasDiscarded(disk, directory);
                return Initialise(disk, directory, replicaId, clusterId, options, log, lockHandle, rebuilding: false);
            default:
                throw StorageMessages.NoState(directory);
        }
    }

    private static IDisposable AcquireLock(IDisk disk, string directory)
    {
        var path = Path.Combine(directory, StorageLayout.LockFileName);
        try
        {
            return disk.Lock(path);
        }
        catch (DiskLockedException e)
        {
            throw new StorageException($"The data directory {directory} is in use by another replica ({path} is locked). Stop that replica, or give this one another --data-dir.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"The data directory {directory} is not writable: {path} could not be created ({e.Message}). A replica must write its log there; give it a writable --data-dir, or fix the directory's file system or permissions.", e);
        }
    }

    /// <summary>
    /// A directory whose state --rebuild-from-peers moved aside, and whose rebuild did not finish, must not become a
    /// fresh voter: it may have promised ballots that a quorum counts on.
    /// </summary>
    private static void RefuseIfStateWasDiscarded(IDisk disk, string directory)
    {
        var discarded = disk.List(directory).FirstOrDefault(name => StorageLayout.TryParseDiscarded(name, out _));
        if (discarded is not null)
        {
            throw new StorageException($"{Path.Combine(directory, discarded)} shows that {directory} held Synod state before, so it cannot start as a member of a new cluster (it may have made promises the cluster counts on). " +
                "Rejoin with ./synod serve <same flags> --rebuild-from-peers.");
        }
    }

    /// <summary>Moves the replica's state into discarded-&lt;n&gt;, the meta file first so that a crash midway leaves no directory that looks complete.</summary>
    private static void MoveStateAside(IDisk disk, string directory, Action<string> log)
    {
        var number = 1 + disk.List(directory).Select(name => StorageLayout.TryParseDiscarded(name, out var n) ? n : 0).DefaultIfEmpty(0).Max();
        var target = Path.Combine(directory, StorageLayout.DiscardedDirectoryName(number));
        disk.CreateDirectory(target);
        var moved = new List<string>();
        foreach (var name in StorageLayout.StateEntryNames)
        {
            var source = Path.Combine(directory, name);
            if (disk.Exists(source))
            {
                disk.Rename(source, Path.Combine(target, name));
                disk.SyncDirectory(directory);
                moved.Add(name);
            }
        }

        disk.SyncDirectory(target);
        log($"{directory}: moved {string.Join(", ", moved)} aside into {target} (--rebuild-from-peers); it is kept for inspection, delete it when it is no longer needed.");
    }

    /// <summary>
    /// Starts a fresh log: wal/ with its first segment (for a rebuild, holding a synced RebuildOp), snap/, and last the
    /// meta file (tmp, fsync, rename, fsync dir), whose presence says the rest is complete.
    /// </summary>
    private static ReplicaStorage Initialise(IDisk disk, string directory, int replicaId, ulong clusterId, StorageOptions options, Action<string> log, IDisposable lockHandle, bool rebuilding)
    {
        var wal = Path.Combine(directory, StorageLayout.WalDirectoryName);
        var snap = Path.Combine(directory, StorageLayout.SnapshotDirectoryName);
        disk.CreateDirectory(wal);
        disk.CreateDirectory(snap);
        foreach (var leftover in disk.List(wal))
        {
            // Inspect found only empty files here: what an initialisation that crashed left behind.
            disk.Delete(Path.Combine(wal, leftover));
        }

        var state = new DurableState();
        if (rebuilding)
        {
            state.Apply(new RebuildOp());
        }

        var segment = disk.Open(Path.Combine(wal, StorageLayout.SegmentFileName(FirstSegmentSequence)), allocateAhead: true);
        var storage = new ReplicaStorage(disk, directory, replicaId, options, log, lockHandle, state, new RecoveredWal([], segment, FirstSegmentSequence));
        try
        {
            if (rebuilding)
            {
                storage.Append([new RebuildOp()]);
                storage.Sync();
            }

            disk.SyncDirectory(wal);
            disk.SyncDirectory(snap);
            disk.SyncDirectory(directory);
            WriteMeta(disk, directory, replicaId, clusterId);
        }
        catch
        {
            // Open's caller releases the lock; the segment handle is this method's to close.
            segment.Dispose();
            throw;
        }

        log(rebuilding
            ? $"{directory}: started a fresh log for replica {replicaId}, rebuilding from its peers (a non-voter until a new leader is established)."
            : $"{directory}: initialised replica {replicaId} as a member of a new cluster.");
        return storage;
    }

    private static void WriteMeta(IDisk disk, string directory, int replicaId, ulong clusterId) =>
        DurableFile.Replace(disk, Path.Combine(directory, StorageLayout.MetaFileName), MetaFile.Encode(replicaId, clusterId));
}
