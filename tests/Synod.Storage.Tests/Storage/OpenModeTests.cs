using System.Buffers.Binary;
using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

public sealed class OpenModeTests
{
    [Fact]
    public void A_second_open_of_the_same_real_directory_is_refused_naming_the_directory()
    {
        using var temp = new TempDirectory();
        using var first = Stores.Open(new RealDisk(), temp.Path, StorageOpenMode.NewCluster);

        var error = Assert.Throws<StorageException>(() => Stores.Open(new RealDisk(), temp.Path));

        Assert.Contains($"The data directory {temp.Path} is in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lock_is_released_on_dispose_and_by_a_crash()
    {
        var disk = Stores.NewSimDisk();
        Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster).Dispose();
        var open = Stores.Open(disk, Stores.SimDirectory);
        Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory));

        disk.Crash(tearLastWrite: false);

        Stores.Open(disk, Stores.SimDirectory).Dispose();
        open.Dispose();
    }

    [Fact]
    public void A_directory_of_another_replica_is_refused()
    {
        var disk = Stores.NewSimDisk();
        Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, replicaId: 3).Dispose();

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, replicaId: 4));

        Assert.Contains("belongs to replica 3, not to replica 4", error.Message, StringComparison.Ordinal);
        Assert.Contains("synod.meta", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_of_another_cluster_is_refused_naming_both_cluster_ids()
    {
        var disk = Stores.NewSimDisk();
        ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.NewCluster, new StorageOptions(), _ => { }, clusterId: 0xaaaa).Dispose();
        ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xaaaa).Dispose();

        var error = Assert.Throws<StorageException>(() =>
            ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xbbbb));

        Assert.Contains("belongs to cluster 000000000000aaaa", error.Message, StringComparison.Ordinal);
        Assert.Contains("started for cluster 000000000000bbbb", error.Message, StringComparison.Ordinal);
        Assert.Contains("--cluster-token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_stamped_with_the_wrong_cluster_id_opens_after_a_restamp_and_only_its_own_replica_may_restamp_it()
    {
        var disk = Stores.NewSimDisk();
        ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.NewCluster, new StorageOptions(), _ => { }, clusterId: 0xaaaa).Dispose();

        var other = Assert.Throws<StorageException>(() => ReplicaStorage.RestampClusterId(disk, Stores.SimDirectory, 2, 0xbbbb));
        Assert.Contains("belongs to replica 1", other.Message, StringComparison.Ordinal);
        using (ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xaaaa))
        {
            // A running replica holds the directory: no restamp under it.
            Assert.Throws<StorageException>(() => ReplicaStorage.RestampClusterId(disk, Stores.SimDirectory, 1, 0xbbbb));
        }

        Assert.Equal(0xaaaaUL, ReplicaStorage.RestampClusterId(disk, Stores.SimDirectory, 1, 0xbbbb));
        ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xbbbb).Dispose();
        Assert.Throws<StorageException>(() => ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xaaaa));
    }

    [Fact]
    public void A_meta_file_from_before_cluster_ids_takes_the_id_it_is_started_with_and_keeps_it()
    {
        var disk = Stores.NewSimDisk();
        Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster).Dispose();
        var meta = Path.Combine(Stores.SimDirectory, ReplicaStorage.MetaFileName);
        var old = new byte[MetaFile.BytesWithoutCluster];
        MetaFile.Encode(1, 0).AsSpan(0, 12).CopyTo(old);
        BinaryPrimitives.WriteUInt32LittleEndian(old.AsSpan(4), MetaFile.VersionWithoutCluster);
        BinaryPrimitives.WriteUInt32LittleEndian(old.AsSpan(12), RecordFormat.Checksum(old.AsSpan(0, 12)));
        using (var file = disk.Open(meta))
        {
            file.Truncate(0);
            file.Append(old);
            file.Sync();
        }

        var log = new List<string>();
        ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), log.Add, clusterId: 0xcccc).Dispose();

        Assert.Contains(log, line => line.Contains("stamped with cluster 000000000000cccc", StringComparison.Ordinal));
        Assert.Equal(MetaFile.Bytes, disk.ReadAll(meta).Length);
        Assert.Equal(MetaFile.Version, BinaryPrimitives.ReadUInt32LittleEndian(disk.ReadAll(meta).AsSpan(4)));
        Assert.Throws<StorageException>(() =>
            ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, clusterId: 0xdddd));
    }

    [Fact]
    public void A_future_meta_version_is_refused_naming_both_versions()
    {
        var disk = Stores.NewSimDisk();
        Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster).Dispose();
        var meta = Path.Combine(Stores.SimDirectory, "synod.meta");
        var bytes = disk.ReadAll(meta);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), RecordFormat.Checksum(bytes.AsSpan(0, 20)));
        Overwrite(disk, meta, bytes);

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory));

        Assert.Contains("meta version 4, and this build reads meta versions 2 and 3", error.Message, StringComparison.Ordinal);
        Assert.Contains(meta, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_of_a_future_format_version_is_refused()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            storage.Append([new CommitOp(1)]);
            storage.Sync();
        }

        var segment = Path.Combine(Stores.SimDirectory, "wal", "00000000000000000001.wal");
        var bytes = disk.ReadAll(segment);
        bytes[RecordFormat.HeaderBytes] = 9;
        RecordFormat.WriteHeader(bytes.AsSpan(0, RecordFormat.HeaderBytes), bytes.AsSpan(RecordFormat.HeaderBytes));
        Overwrite(disk, segment, bytes);

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory));

        Assert.Contains("format version 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_old_single_file_layout_is_refused_and_a_rebuild_moves_it_aside()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(Path.Combine(temp.Path, "paxos.log"), [1, 2, 3]);
        var disk = new RealDisk();

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster));
        Assert.Contains("paxos.log is the single-file log of format 1", error.Message, StringComparison.Ordinal);

        using var rebuilt = Stores.Open(disk, temp.Path, StorageOpenMode.RebuildFromPeers);
        Assert.True(rebuilt.State.Rebuilding);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(temp.Path, "discarded-1", "paxos.log")));
    }

    [Fact]
    public void Existing_mode_on_an_empty_or_missing_directory_says_how_to_bootstrap_or_rejoin()
    {
        using var temp = new TempDirectory();
        foreach (var directory in new[] { temp.Path, Path.Combine(temp.Path, "missing") })
        {
            var error = Assert.Throws<StorageException>(() => Stores.Open(new RealDisk(), directory));

            Assert.Contains($"{directory} holds no Synod state", error.Message, StringComparison.Ordinal);
            Assert.Contains("--new-cluster", error.Message, StringComparison.Ordinal);
            Assert.Contains("--rebuild-from-peers", error.Message, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(Path.Combine(temp.Path, "missing")));
    }

    [Fact]
    public void NewCluster_initialises_an_empty_directory_and_then_simply_opens_it()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            Assert.False(storage.State.Rebuilding);
            storage.Append([new PromiseOp(new Ballot(2, 2))]);
            storage.Sync();
        }

        using var again = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        Assert.Equal(new Ballot(2, 2), again.State.Promised);
    }

    [Fact]
    public void RebuildFromPeers_moves_the_old_state_aside_and_starts_rebuilding()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            storage.Append([new PromiseOp(new Ballot(7, 1)), new AcceptOp(1, new Ballot(7, 1), [[1]])]);
            storage.Sync();
        }

        var log = new List<string>();
        using (var rebuilt = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.RebuildFromPeers, log: log))
        {
            Assert.True(rebuilt.State.Rebuilding);
            Assert.True(rebuilt.State.Promised.IsZero);
            Assert.Empty(rebuilt.State.Entries);
        }

        Assert.Contains(log, line => line.Contains("discarded-1", StringComparison.Ordinal));
        Assert.Equal(["snap", "synod.meta", "wal"], disk.List(Path.Combine(Stores.SimDirectory, "discarded-1")));
        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        Assert.True(reopened.State.Rebuilding, "the RebuildOp must be durable before Open returns");
    }

    [Fact]
    public void A_crash_right_after_a_rebuild_keeps_the_replica_rebuilding()
    {
        var disk = Stores.NewSimDisk();
        Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster).Dispose();
        _ = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.RebuildFromPeers);

        disk.Crash(tearLastWrite: true);

        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        Assert.True(reopened.State.Rebuilding);
    }

    [Fact]
    public void A_directory_whose_state_was_discarded_cannot_start_as_a_new_cluster_member()
    {
        var disk = Stores.NewSimDisk();
        disk.CreateDirectory(Path.Combine(Stores.SimDirectory, "discarded-1"));

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster));

        Assert.Contains("--rebuild-from-peers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Segments_without_a_meta_file_are_refused()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            storage.Append([new CommitOp(1)]);
            storage.Sync();
        }

        disk.Delete(Path.Combine(Stores.SimDirectory, "synod.meta"));

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster));
        Assert.Contains("no synod.meta", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_segment_in_the_sequence_is_refused()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            storage.Append(new OpGenerator(5).Take(300));
            storage.Sync();
            Assert.True(storage.SegmentCount >= 3);
        }

        var missing = Path.Combine(Stores.SimDirectory, "wal", "00000000000000000002.wal");
        disk.Delete(missing);

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_torn_record_in_a_segment_that_is_not_the_last_is_corruption()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            storage.Append(new OpGenerator(5).Take(300));
            storage.Sync();
        }

        var first = Path.Combine(Stores.SimDirectory, "wal", "00000000000000000001.wal");
        var bytes = disk.ReadAll(first);
        Overwrite(disk, first, bytes[..^5]);

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments));
        Assert.Contains(first, error.Message, StringComparison.Ordinal);
        Assert.Contains("not the last", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_newest_snapshot_is_refused_not_skipped()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            SegmentAndSnapshotTests.AppendChosen(storage, 1, 10);
            storage.Append([new SnapshotOp(8, new byte[] { 8, 8, 8 })]);
            Stores.RunPendingSnapshot(storage);
        }

        var snapshot = Path.Combine(Stores.SimDirectory, "snap", "00000000000000000008.snap");
        var bytes = disk.ReadAll(snapshot);
        bytes[^1] ^= 0x40;
        Overwrite(disk, snapshot, bytes);

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory));
        Assert.Contains($"{snapshot} is corrupt at offset {SnapshotFile.HeaderBytes}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_above_RecordBytesMax_is_refused_on_write_and_nothing_of_the_append_is_written()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments);
        var before = storage.WalBytes;

        var error = Assert.Throws<StorageException>(() => storage.Append([new CommitOp(1), new AcceptOp(1, new Ballot(1, 1), [new byte[2000]])]));

        Assert.Contains("exceeds StorageOptions.RecordBytesMax (1024 bytes)", error.Message, StringComparison.Ordinal);
        Assert.Contains("AcceptOp for slot 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, storage.WalBytes);
        Assert.Equal(0, storage.CloneAppendedState().CommitIndex);
    }

    [Fact]
    public void A_snapshot_above_SnapshotBytesMax_is_refused_on_write()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, new StorageOptions { SnapshotBytesMax = 10 });

        var error = Assert.Throws<StorageException>(() => storage.Append([new SnapshotOp(1, new byte[11])]));

        Assert.Contains("exceeds StorageOptions.SnapshotBytesMax (10 bytes)", error.Message, StringComparison.Ordinal);
    }

    private static void Overwrite(IDisk disk, string path, byte[] bytes)
    {
        using var file = disk.Open(path);
        file.Truncate(0);
        file.Append(bytes);
        file.Sync();
    }
}
