using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>Recovery: the meta file, the newest snapshot, then every segment replayed in order (docs/storage.md, "Recovery").</summary>
public sealed partial class ReplicaStorage
{
    private static ReplicaStorage Recover(
        IDisk disk, string directory, int replicaId, ulong clusterId, StorageOptions options, Action<string> log, IDisposable lockHandle,
        Action<ReadOnlyMemory<byte>>? snapshotRead)
    {
        CheckMeta(disk, directory, replicaId, clusterId, log);
        var state = new DurableState();
        if (LoadNewestSnapshot(disk, Path.Combine(directory, StorageLayout.SnapshotDirectoryName), options, log) is { } snapshot)
        {
            state.Apply(snapshot);

            // Checked, before the segments are read: the host may start restoring it on another thread meanwhile.
            snapshotRead?.Invoke(snapshot.Data);
        }

        var wal = ReplayWal(disk, Path.Combine(directory, StorageLayout.WalDirectoryName), state, options, log);

        // What was replayed may have reached only the page cache before a process crash: make it durable before the core
        // acts on it. An acceptance read back here is acknowledged again without a new record when its Accept is
        // retransmitted (the same ballot), so it must not be lost to a later power failure.
        wal.Current.Sync();
        return new ReplicaStorage(disk, directory, replicaId, options, log, lockHandle, state, wal);
    }

    private static void CheckMeta(IDisk disk, string directory, int replicaId, ulong clusterId, Action<string> log)
    {
        var path = Path.Combine(directory, StorageLayout.MetaFileName);
        var (owner, stamped) = MetaFile.Decode(disk.ReadAll(path), path);
        if (owner != replicaId)
        {
            throw new StorageException($"{path} says {directory} belongs to replica {owner}, not to replica {replicaId}. Give replica {replicaId} its own --data-dir, or start replica {owner} on this one.");
        }

        if (clusterId == 0 || stamped == clusterId)
        {
            return;
        }

        if (stamped != 0)
        {
            throw new StorageException($"{path} says {directory} belongs to cluster {stamped:x16}, but replica {replicaId} was started for cluster {clusterId:x16} (the id comes from --cluster-token and the replica ids in --peers). " +
                "Start it with the flags of the cluster it belongs to; to move this replica to the other cluster, give it an empty --data-dir and --rebuild-from-peers; " +
                "if the stamp itself is wrong (a mistyped --cluster-token at a first start), start it once with --restamp-cluster-id and the right token.");
        }

        // Written before cluster ids: it takes the id it is started with (tmp, fsync, rename, fsync dir, as at initialisation).
        WriteMeta(disk, directory, replicaId, clusterId);
        log($"{path}: stamped with cluster {clusterId:x16} (the file predates cluster ids).");
    }

    /// <summary>
    /// The newest snapshot file, checked. A damaged newest snapshot is a refusal, not a fallback to an older one: the
    /// segments it let compaction delete are gone. Leftover .tmp files (a write the process did not finish) are deleted.
    /// </summary>
    private static SnapshotOp? LoadNewestSnapshot(IDisk disk, string snapDirectory, StorageOptions options, Action<string> log)
    {
        if (!disk.IsDirectory(snapDirectory))
        {
            throw StorageMessages.Damaged(snapDirectory, $"the directory is missing, though {StorageLayout.MetaFileName} says the replica was initialised");
        }

        long? newest = null;
        foreach (var name in disk.List(snapDirectory))
        {
            var path = Path.Combine(snapDirectory, name);
            if (name.EndsWith(StorageLayout.TemporaryExtension, StringComparison.Ordinal))
            {
                disk.Delete(path);
                log($"{path}: deleted an unfinished snapshot write.");
            }
            else if (StorageLayout.TryParseSnapshot(name, out var slot))
            {
                newest = Math.Max(newest ?? slot, slot);
            }
            else
            {
                log($"{path}: not a snapshot file name; ignored.");
            }
        }

        if (newest is not long newestSlot)
        {
            return null;
        }

        var snapshotPath = Path.Combine(snapDirectory, StorageLayout.SnapshotFileName(newestSlot));
        var (header, data) = disk.ReadAll(snapshotPath, SnapshotFile.HeaderBytes);
        return SnapshotFile.Decode(header, data, snapshotPath, newestSlot, options.SnapshotBytesMax);
    }

    private static RecoveredWal ReplayWal(IDisk disk, string walDirectory, DurableState state, StorageOptions options, Action<string> log)
    {
        var sequences = ListSegments(disk, walDirectory, log);
        if (sequences.Count == 0)
        {
            throw StorageMessages.Damaged(walDirectory, $"it holds no segment, though {StorageLayout.MetaFileName} says the replica was initialised");
        }

        if (FindGap(sequences) is long missing)
        {
            throw StorageMessages.Damaged(Path.Combine(walDirectory, StorageLayout.SegmentFileName(missing)),
                $"the segment is missing between {StorageLayout.SegmentFileName(missing - 1)} and the next one present");
        }

        // Every segment is checked before any is replayed. Replay starts at the last segment that begins with a whole
        // checkpoint (the ones before it are leftovers of a compaction the process did not finish, and are deleted), or at the first
        // segment ever written; any other oldest segment means files were lost.
        var scans = sequences.Select(sequence => ScanSegment(disk, Path.Combine(walDirectory, StorageLayout.SegmentFileName(sequence)),
            lastSegment: sequence == sequences[^1], options)).ToList();
        var start = LastWholeCheckpoint(scans);
        if (start < 0 && sequences[0] != FirstSegmentSequence)
        {
            throw StorageMessages.Damaged(Path.Combine(walDirectory, StorageLayout.SegmentFileName(sequences[0])),
                "it is the oldest segment present but not the first ever written, and no segment begins with a checkpoint: the segments before it are missing");
        }

        start = Math.Max(start, 0);
        if (scans[start].Ops.Count > 0 && scans[start].Ops[0] is CheckpointMarkerOp marker && state.SnapshotSlot < marker.SnapshotSlot)
        {
            throw StorageMessages.Damaged(Path.Combine(walDirectory, StorageLayout.SegmentFileName(sequences[start])),
                $"it begins with the checkpoint after the snapshot of slot {marker.SnapshotSlot}, but that snapshot file is missing from {StorageLayout.SnapshotDirectoryName}/");
        }

        for (var i = 0; i < start; i++)
        {
            var leftover = Path.Combine(walDirectory, StorageLayout.SegmentFileName(sequences[i]));
            disk.Delete(leftover);
            log($"{leftover}: deleted; a later checkpoint supersedes it (a compaction had not finished deleting it).");
        }

        if (start > 0)
        {
            disk.SyncDirectory(walDirectory);
        }

        var closed = new List<SegmentFile>();
        for (var i = start; i < scans.Count; i++)
        {
            foreach (var op in scans[i].Ops)
            {
                if (op is not (CheckpointMarkerOp or CheckpointEndOp))
                {
                    state.Apply(op);
                }
            }

            if (i < scans.Count - 1)
            {
                closed.Add(new SegmentFile(sequences[i], scans[i].TotalBytes));
            }
        }

        var lastSequence = sequences[^1];
        var path = Path.Combine(walDirectory, StorageLayout.SegmentFileName(lastSequence));
        var lastScan = scans[^1];
        var current = disk.Open(path, allocateAhead: true);
        if (lastScan.Repaired is { } repaired)
        {
            try
            {
                // Written again whole, so that the record is intact when it is no longer the last one.
                current.Truncate(repaired.Offset);
                current.Append(repaired.Bytes);
                current.Sync();
            }
            catch
            {
                current.Dispose();
                throw;
            }

            log($"{path}: the last record, at offset {repaired.Offset}, lacked only its end mark (its checksum matches with it); wrote it again whole.");
        }
        else if (lastScan.End is SegmentEnd.TornTail or SegmentEnd.UnusedTail)
        {
            try
            {
                current.Truncate(lastScan.ValidBytes);
                current.Sync();
            }
            catch
            {
                current.Dispose();
                throw;
            }

            if (lastScan.End == SegmentEnd.TornTail)
            {
                log($"{path}: cut off a torn last record at offset {lastScan.ValidBytes}, {lastScan.TornBytes} bytes ({lastScan.Problem}; a crash during a write).");
            }
        }

        return new RecoveredWal(closed, current, lastSequence);
    }

    /// <summary>The last segment that begins a checkpoint whose end is present too (it may run on into the next segments); -1 if none.</summary>
    private static int LastWholeCheckpoint(List<SegmentScan> scans)
    {
        for (var i = scans.Count - 1; i >= 0; i--)
        {
            if (scans[i].Ops.Count > 0 && scans[i].Ops[0] is CheckpointMarkerOp marker && EndsCheckpoint(scans.Skip(i).SelectMany(scan => scan.Ops).Skip(1), marker))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool EndsCheckpoint(IEnumerable<PersistOp> after, CheckpointMarkerOp marker)
    {
        foreach (var op in after)
        {
            if (op is CheckpointEndOp end)
            {
                return end.SnapshotSlot == marker.SnapshotSlot;
            }

            if (op is CheckpointMarkerOp)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Checks a segment's records, refusing on anything but a clean end or (last segment only) a torn tail.</summary>
    private static SegmentScan ScanSegment(IDisk disk, string path, bool lastSegment, StorageOptions options)
    {
        var scan = SegmentScanner.Scan(disk.ReadAll(path), lastSegment, options.RecordBytesMax);
        switch (scan.End)
        {
            case SegmentEnd.Corrupt:
                throw StorageMessages.Corrupt(path, scan.ValidBytes, scan.Problem!);
            case SegmentEnd.UnsupportedVersion:
                throw StorageMessages.UnsupportedFormat(path, scan.ValidBytes, scan.Problem!);
        }

        return scan;
    }

    private static List<long> ListSegments(IDisk disk, string walDirectory, Action<string> log)
    {
        if (!disk.IsDirectory(walDirectory))
        {
            throw StorageMessages.Damaged(walDirectory, $"the directory is missing, though {StorageLayout.MetaFileName} says the replica was initialised");
        }

        var sequences = new List<long>();
        foreach (var name in disk.List(walDirectory))
        {
            if (StorageLayout.TryParseSegment(name, out var sequence))
            {
                sequences.Add(sequence);
            }
            else
            {
                log($"{Path.Combine(walDirectory, name)}: not a segment file name; ignored.");
            }
        }

        sequences.Sort();
        return sequences;
    }

    /// <summary>The first sequence number missing between the first and the last segment, if any. Pure.</summary>
    internal static long? FindGap(IReadOnlyList<long> sortedSequences)
    {
        for (var i = 1; i < sortedSequences.Count; i++)
        {
            if (sortedSequences[i] != sortedSequences[i - 1] + 1)
            {
                return sortedSequences[i - 1] + 1;
            }
        }

        return null;
    }
}
