using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>Recovery: the meta file, the newest snapshot, then every segment replayed in order (docs/storage.md, "Recovery").</summary>
public sealed partial class ReplicaStorage
{
    private static ReplicaStorage Recover(IDisk disk, string directory, int replicaId, StorageOptions options, Action<string> log, IDisposable lockHandle)
    {
        CheckMeta(disk, directory, replicaId);
        var state = new DurableState();
        if (LoadNewestSnapshot(disk, Path.Combine(directory, StorageLayout.SnapshotDirectoryName), options, log) is { } snapshot)
        {
            state.Apply(snapshot);
        }

        var wal = ReplayWal(disk, Path.Combine(directory, StorageLayout.WalDirectoryName), state, options, log);
        return new ReplicaStorage(disk, directory, replicaId, options, log, lockHandle, state, wal);
    }

    private static void CheckMeta(IDisk disk, string directory, int replicaId)
    {
        var path = Path.Combine(directory, StorageLayout.MetaFileName);
        var owner = MetaFile.Decode(disk.ReadAll(path), path);
        if (owner != replicaId)
        {
            throw new StorageException($"{path} says {directory} belongs to replica {owner}, not to replica {replicaId}. Give replica {replicaId} its own --data-dir, or start replica {owner} on this one.");
        }
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
        return SnapshotFile.Decode(disk.ReadAll(snapshotPath), snapshotPath, newestSlot, options.SnapshotBytesMax);
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

        var closed = new List<SegmentFile>();
        foreach (var sequence in sequences.Take(sequences.Count - 1))
        {
            var scan = ReplaySegment(disk, Path.Combine(walDirectory, StorageLayout.SegmentFileName(sequence)), lastSegment: false, state, options);
            closed.Add(new SegmentFile(sequence, scan.TotalBytes));
        }

        var lastSequence = sequences[^1];
        var path = Path.Combine(walDirectory, StorageLayout.SegmentFileName(lastSequence));
        var lastScan = ReplaySegment(disk, path, lastSegment: true, state, options);
        var current = disk.Open(path);
        if (lastScan.End == SegmentEnd.TornTail)
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

            log($"{path}: cut off a torn last record at offset {lastScan.ValidBytes}, {lastScan.TornBytes} bytes ({lastScan.Problem}; a crash during a write).");
        }

        return new RecoveredWal(closed, current, lastSequence);
    }

    /// <summary>Folds a segment's records into the state, or refuses on anything but a clean end or (last segment only) a torn tail.</summary>
    private static SegmentScan ReplaySegment(IDisk disk, string path, bool lastSegment, DurableState state, StorageOptions options)
    {
        var scan = SegmentScanner.Scan(disk.ReadAll(path), lastSegment, options.RecordBytesMax);
        switch (scan.End)
        {
            case SegmentEnd.Corrupt:
                throw StorageMessages.Corrupt(path, scan.ValidBytes, scan.Problem!);
            case SegmentEnd.UnsupportedVersion:
                throw StorageMessages.UnsupportedFormat(path, scan.ValidBytes, scan.Problem!);
        }

        foreach (var op in scan.Ops)
        {
            state.Apply(op);
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
