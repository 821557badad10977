using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// Snapshots and compaction without stopping the owner loop. A snapshot the log already covers waits as the pending
/// snapshot; the owner hands it to another thread (<see cref="TakePendingSnapshot"/>, <see cref="SnapshotWrite.Run"/>)
/// and afterwards compacts (<see cref="CompleteSnapshot"/>): a new segment that begins with a checkpoint of the state
/// above the snapshot, synced, and only then are older segments and snapshots deleted, oldest first. Whenever the
/// process dies, the disk holds either the old snapshot with every segment it needs, or the new snapshot with a
/// contiguous run of segments ending in a whole checkpoint (docs/storage.md, "Snapshots and compaction").
/// </summary>
public sealed partial class ReplicaStorage
{
    private SnapshotOp? _pendingSnapshot;
    private SnapshotWrite? _inFlightSnapshot;

    /// <summary>A snapshot is waiting for <see cref="TakePendingSnapshot"/>.</summary>
    public bool HasPendingSnapshot => _pendingSnapshot is not null;

    /// <summary>
    /// The newest snapshot appended and not yet written, to <see cref="SnapshotWrite.Run"/> on any thread; null when
    /// there is none, or while an earlier one is still in flight (it is handed out after that one completes).
    /// </summary>
    public SnapshotWrite? TakePendingSnapshot()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_inFlightSnapshot is not null || _pendingSnapshot is not { } snapshot)
        {
            return null;
        }

        _pendingSnapshot = null;
        _inFlightSnapshot = NewSnapshotWrite(snapshot);
        return _inFlightSnapshot;
    }

    /// <summary>On the owner thread, once <see cref="SnapshotWrite.Run"/> has returned: compacts the log behind the snapshot.</summary>
    public void CompleteSnapshot(SnapshotWrite write)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!ReferenceEquals(write, _inFlightSnapshot))
        {
            throw new InvalidOperationException($"The snapshot write for slot {write.Slot} is not the one in flight: complete each write TakePendingSnapshot returned, once.");
        }

        if (!write.IsDone)
        {
            throw new InvalidOperationException($"CompleteSnapshot for slot {write.Slot} was called before its Run() returned.");
        }

        _inFlightSnapshot = null;
        FinishSnapshot(write);
    }

    /// <summary>The slot of a durable snapshot whose file is not yet mapped (<see cref="TakeStoredSnapshot"/>), 0 if none.</summary>
    private long _snapshotToMap;

    /// <summary>
    /// Once after a snapshot became durable (and once after open, for the snapshot recovered): the snapshot as its file
    /// holds it, mapped (<see cref="IDisk.Map"/>), which this storage's own records of it now hold instead of the array it
    /// was written from; the owner hands it to the core, and the array is let go. Null if there is none new, or if the
    /// file cannot be mapped (logged; the memory it was written from is kept until the next snapshot, and peers are sent
    /// copies of its chunks meanwhile: memory and time, nothing else).
    /// </summary>
    public (long Slot, ReadOnlyMemory<byte> Data)? TakeStoredSnapshot()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = _snapshotToMap;
        _snapshotToMap = 0;
        if (slot == 0 || slot != SnapshotSlot || slot != _mirror.SnapshotSlot || _mirror.SnapshotData is not { } held)
        {
            return null;
        }

        var path = Path.Combine(_snapshotDirectory, StorageLayout.SnapshotFileName(slot));
        ReadOnlyMemory<byte> stored;
        try
        {
            stored = _disk.Map(path, SnapshotFile.HeaderBytes, held.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            _log($"{Directory}: the snapshot at slot {slot} could not be mapped from {path} ({e.Message}); it is kept in memory instead.");
            return null;
        }

        _mirror.UseStoredSnapshot(slot, stored);
        State.UseStoredSnapshot(slot, stored);
        return (slot, stored);
    }

    /// <summary>
    /// Once the core has been built from <see cref="State"/>: lets go of its snapshot and entries, which the core copied
    /// and the mirror holds (a restarted replica held the snapshot and the log it read at open for its whole life).
    /// </summary>
    public void ForgetRecoveredData()
    {
        State.ForgetData();
    }

    /// <summary>
    /// Whether this storage still holds <paramref name="data"/> (by identity): a snapshot pending or being written, or
    /// its own record of the snapshot, until the stored file's mapping replaces it. Memory lent to the log is freed only
    /// once this says no, and the core holds it no more either.
    /// </summary>
    public bool HoldsSnapshotBytes(ReadOnlyMemory<byte> data) =>
        (_pendingSnapshot is { } pending && pending.Data.Equals(data))
        || (_preparedInstall is { } prepared && prepared.Data.Equals(data))
        || (_inFlightSnapshot is { } writing && writing.Data.Equals(data))
        || (_mirror.SnapshotData is { } mirrored && mirrored.Equals(data))
        || (State.SnapshotData is { } recovered && recovered.Equals(data));

    private SnapshotWrite NewSnapshotWrite(SnapshotOp snapshot) => new(_disk, _snapshotDirectory, snapshot.Slot, snapshot.Data);

    /// <summary>A snapshot from a peer whose file may be written ahead of its append (<see cref="PrepareInstall"/>).</summary>
    private SnapshotWrite? _preparedInstall;

    /// <summary>
    /// A snapshot installed from a peer, which the next <see cref="Append"/> will carry as this very op (the same
    /// bytes): returns the write of its file, whose <see cref="SnapshotWrite.WriteTemporary"/> the owner may run on
    /// another thread meanwhile (while the state machine is restored from the same bytes). It publishes nothing:
    /// <see cref="Append"/> still makes the snapshot durable after the records before it and before any after it, and
    /// only waits for the sync of its data no more. The owner must let <see cref="SnapshotWrite.WriteTemporary"/>
    /// return before the next <see cref="Append"/>. Null when there is nothing to prepare (a snapshot this log holds
    /// already, or one being written under the same name).
    /// </summary>
    public SnapshotWrite? PrepareInstall(SnapshotOp snapshot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        DiscardPreparedInstall();
        if (snapshot.Slot <= _mirror.SnapshotSlot || _inFlightSnapshot?.Slot == snapshot.Slot || _pendingSnapshot?.Slot == snapshot.Slot ||
            snapshot.Data.Length > _options.SnapshotBytesMax)
        {
            return null;
        }

        _preparedInstall = new SnapshotWrite(_disk, _snapshotDirectory, snapshot.Slot, snapshot.Data, _options.PreparedInstallUnsyncedBug);
        return _preparedInstall;
    }

    /// <summary>The prepared write of <paramref name="snapshot"/> (the same slot and the same bytes), taken; null if there is none.</summary>
    private SnapshotWrite? TakePreparedInstall(SnapshotOp snapshot)
    {
        if (_preparedInstall is { } prepared && prepared.Slot == snapshot.Slot && prepared.Data.Equals(snapshot.Data))
        {
            // Still being written here is the owner's mistake: Run and Abandon refuse it.
            _preparedInstall = null;
            return prepared;
        }

        DiscardPreparedInstall();
        return null;
    }

    /// <summary>Lets go of a prepared write that no append carried, and deletes its temporary file.</summary>
    private void DiscardPreparedInstall()
    {
        var prepared = _preparedInstall;
        _preparedInstall = null;
        DeleteUnpublished(prepared);
    }

    /// <summary>A SnapshotOp met in <see cref="Append"/>, after every op before it was written.</summary>
    private void AcceptSnapshot(SnapshotOp snapshot)
    {
        var prepared = TakePreparedInstall(snapshot);
        if (snapshot.Slot <= _mirror.SnapshotSlot)
        {
            DeleteUnpublished(prepared);
            return;
        }

        var covered = Checkpoint.Covers(_mirror, snapshot.Slot);
        _mirror.Apply(snapshot);
        if (covered)
        {
            DeleteUnpublished(prepared);
            _pendingSnapshot = snapshot;
            return;
        }

        // A snapshot installed from a peer stands for values this log does not hold, and the records after it (a
        // commit index, a VoterOp) count on them: it must be durable after the records before it and before any after
        // it. Installs are rare, so the owner thread writes it at once; when its file was written beforehand
        // (PrepareInstall), only published.
        _pendingSnapshot = null;
        Sync();
        var write = prepared ?? NewSnapshotWrite(snapshot);
        write.Run();
        FinishSnapshot(write);
    }

    /// <summary>Abandons a prepared write that is not to be published (it refuses one still being written) and deletes its file.</summary>
    private void DeleteUnpublished(SnapshotWrite? prepared)
    {
        if (prepared is not null)
        {
            prepared.Abandon();
            _disk.Delete(prepared.TemporaryPath);
        }
    }

    private void FinishSnapshot(SnapshotWrite write)
    {
        SnapshotsWritten++;
        if (write.Slot <= SnapshotSlot)
        {
            // A newer snapshot (installed from a peer) became durable while this one was being written.
            _disk.Delete(write.Path);
            _disk.SyncDirectory(_snapshotDirectory);
            return;
        }

        SnapshotSlot = write.Slot;
        _snapshotToMap = write.Slot;
        if (write.Slot == _mirror.SnapshotSlot)
        {
            CompactTo(write.Slot);
        }
        else
        {
            // A newer snapshot is pending, and the log still holds the slots between the two: keep every segment.
            DeleteSnapshotsBelow(write.Slot);
        }
    }

    private void CompactTo(long slot)
    {
        Roll();
        var checkpointSequence = _currentSequence;
        var checkpoint = Checkpoint.From(_mirror);
        foreach (var op in checkpoint)
        {
            BufferRecord(op);
        }

        // The checkpoint is written now and made durable by the next sync the log makes anyway (the next group commit),
        // not by one here: with large values it restates megabytes of slots above the snapshot, and a sync of them on
        // this thread held the owner loop for longer than an election timeout. The files it supersedes wait for that
        // sync (a crash before it replays from the previous checkpoint, whose segments and snapshot are still there).
        var deleted = 0;
        while (_closedSegments.Count > 0 && _closedSegments[0].Sequence < checkpointSequence)
        {
            _segmentsToDelete.Add(Path.Combine(_walDirectory, StorageLayout.SegmentFileName(_closedSegments[0].Sequence)));
            _closedBytes -= _closedSegments[0].Bytes;
            _closedSegments.RemoveAt(0);
            deleted++;
        }

        _snapshotsToDelete.AddRange(SnapshotsBelow(slot));
        _cleanupAfterSyncs = Syncs + 1;
        BytesSinceSnapshot = 0;
        _log($"{Directory}: snapshot at slot {slot} is durable; the WAL restarts at {StorageLayout.SegmentFileName(checkpointSequence)} " +
            $"with a checkpoint of {checkpoint.Count} records; {deleted} older segments are deleted once it is synced.");
    }

    /// <summary>Files superseded by a checkpoint, deleted (<see cref="TakeCleanup"/>) once Syncs reaches this.</summary>
    private long _cleanupAfterSyncs = long.MaxValue;
    private readonly List<string> _segmentsToDelete = [];
    private readonly List<string> _snapshotsToDelete = [];
    private StorageCleanup? _cleanupInFlight;

    /// <summary>Files superseded by a checkpoint wait for a sync of the log (an idle replica's host makes one).</summary>
    public bool CleanupWaitsForSync => _cleanupAfterSyncs != long.MaxValue && Syncs < _cleanupAfterSyncs;

    /// <summary>
    /// The files the last compactions let go, to <see cref="StorageCleanup.Run"/> on any thread, once the checkpoint
    /// that supersedes them is durable; null when there are none yet, or while an earlier cleanup is still running.
    /// </summary>
    public StorageCleanup? TakeCleanup()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_cleanupInFlight is not null || (Syncs < _cleanupAfterSyncs && !_options.CleanupBeforeCheckpointSyncBug)
            || (_segmentsToDelete.Count == 0 && _snapshotsToDelete.Count == 0))
        {
            return null;
        }

        _cleanupInFlight = new StorageCleanup(_disk, _walDirectory, _snapshotDirectory, [.. _segmentsToDelete], [.. _snapshotsToDelete]);
        _segmentsToDelete.Clear();
        _snapshotsToDelete.Clear();
        _cleanupAfterSyncs = long.MaxValue;
        return _cleanupInFlight;
    }

    /// <summary>On the owner thread, once <see cref="StorageCleanup.Run"/> has returned.</summary>
    public void CompleteCleanup(StorageCleanup cleanup)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!ReferenceEquals(cleanup, _cleanupInFlight) || !cleanup.IsDone)
        {
            throw new InvalidOperationException("CompleteCleanup was called for a cleanup that is not the one in flight, or before its Run() returned.");
        }

        _cleanupInFlight = null;
    }

    /// <summary>Snapshot files older than <paramref name="slot"/> (not the one being written, nor any already to be deleted).</summary>
    private List<string> SnapshotsBelow(long slot)
    {
        var inFlight = _inFlightSnapshot?.Slot;
        var below = new List<string>();
        foreach (var name in _disk.List(_snapshotDirectory))
        {
            var path = Path.Combine(_snapshotDirectory, name);
            if (StorageLayout.TryParseSnapshot(name, out var older) && older < slot && older != inFlight && !_snapshotsToDelete.Contains(path)
                && _cleanupInFlight?.Snapshots.Contains(path) != true)
            {
                below.Add(path);
            }
        }

        return below;
    }

    private void DeleteSnapshotsBelow(long slot)
    {
        foreach (var path in SnapshotsBelow(slot))
        {
            _disk.Delete(path);
        }

        _disk.SyncDirectory(_snapshotDirectory);
    }
}
