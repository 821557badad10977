using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

public sealed class SegmentAndSnapshotTests
{
    private static readonly string WalDirectory = Path.Combine(Stores.SimDirectory, "wal");
    private static readonly string SnapDirectory = Path.Combine(Stores.SimDirectory, "snap");

    [Fact]
    public void Segments_roll_at_SegmentBytesMax_and_replay_in_order()
    {
        var disk = Stores.NewSimDisk();
        var ops = new OpGenerator(7).Take(400);
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            foreach (var chunk in ops.Chunk(10))
            {
                storage.Append(chunk);
                storage.Sync();
            }

            Assert.True(storage.SegmentCount > 3, $"only {storage.SegmentCount} segments");
            Assert.Equal(storage.SegmentCount - 1, storage.SegmentsCreated);
        }

        var segments = disk.List(WalDirectory);
        // The last segment goes on in zeros written ahead of its end, as on the real disk; its records end within the limit too.
        Assert.All(segments, name => Assert.True(TornTailRule.ZeroRunStart(disk.ReadAll(Path.Combine(WalDirectory, name))) <= StorageOptions.SegmentBytesMin));
        Assert.All(segments.Take(segments.Count - 1), name => Assert.True(disk.ReadAll(Path.Combine(WalDirectory, name)).Length <= StorageOptions.SegmentBytesMin));
        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
        Assert.Equal(segments.Count, reopened.SegmentCount);
    }

    [Fact]
    public void Compaction_deletes_older_segments_and_snapshots_and_the_reopened_state_equals_the_mirror()
    {
        var disk = Stores.NewSimDisk();
        DurableState mirror;
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            AppendChosen(storage, 1, 100);
            storage.Append([new SnapshotOp(40, new byte[] { 4, 0 })]);
            Stores.RunPendingSnapshot(storage);
            AppendChosen(storage, 101, 200);
            var segmentsBefore = storage.SegmentCount;
            storage.Append([new SnapshotOp(150, new byte[] { 1, 5, 0 })]);
            Assert.True(storage.HasPendingSnapshot);
            Stores.RunPendingSnapshot(storage);

            Assert.True(storage.SegmentCount < segmentsBefore, $"{storage.SegmentCount} segments after compaction, {segmentsBefore} before");
            Assert.Equal(0, storage.BytesSinceSnapshot);
            Assert.Equal(150, storage.SnapshotSlot);
            mirror = storage.CloneAppendedState();
        }

        Assert.Equal(["00000000000000000150.snap"], disk.List(SnapDirectory));
        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        Assert.Equal(StateText.Describe(mirror), StateText.Describe(reopened.State));
        Assert.Equal(50, reopened.State.Entries.Count);
    }

    [Fact]
    public void A_reopen_hands_the_caller_the_newest_snapshot_once_as_the_very_memory_the_recovered_state_holds()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            var seen = new List<ReadOnlyMemory<byte>>();
            using (ReplicaStorage.Open(disk, Stores.SimDirectory + "-empty", 1, StorageOpenMode.NewCluster, new StorageOptions(), _ => { }, snapshotRead: seen.Add))
            {
                Assert.Empty(seen);
            }

            AppendChosen(storage, 1, 30);
            storage.Append([new SnapshotOp(20, new byte[] { 2, 0, 2 })]);
            Stores.RunPendingSnapshot(storage);
            AppendChosen(storage, 31, 40);
        }

        var handed = new List<ReadOnlyMemory<byte>>();
        using var reopened = ReplicaStorage.Open(disk, Stores.SimDirectory, 1, StorageOpenMode.Existing, new StorageOptions(), _ => { }, snapshotRead: handed.Add);

        // The very memory the recovered state holds: a host that restored from it ahead may hand the result to the driver
        // only for that memory.
        var data = Assert.Single(handed);
        Assert.Equal(new byte[] { 2, 0, 2 }, data.ToArray());
        Assert.True(data.Equals(reopened.State.SnapshotData!.Value));
    }

    [Fact]
    public void A_newer_snapshot_replaces_the_pending_one()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        AppendChosen(storage, 1, 30);
        storage.Append([new SnapshotOp(10, new byte[] { 1 })]);
        storage.Append([new SnapshotOp(20, new byte[] { 2 })]);

        var write = storage.TakePendingSnapshot();

        Assert.Equal(20, write!.Slot);
        Assert.Null(storage.TakePendingSnapshot());
    }

    [Fact]
    public void A_snapshot_arriving_while_one_is_in_flight_is_written_after_it_and_then_compacts()
    {
        var disk = Stores.NewSimDisk();
        DurableState mirror;
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            AppendChosen(storage, 1, 60);
            storage.Append([new SnapshotOp(10, new byte[] { 1 })]);
            var first = storage.TakePendingSnapshot()!;
            storage.Append([new SnapshotOp(30, new byte[] { 3 })]);
            Assert.Null(storage.TakePendingSnapshot());
            first.Run();
            storage.CompleteSnapshot(first);

            // The log still holds slots 11..30, which the newer snapshot stands for but has not yet made durable.
            Assert.Equal(10, storage.SnapshotSlot);
            Stores.RunPendingSnapshot(storage);
            Assert.Equal(30, storage.SnapshotSlot);
            mirror = storage.CloneAppendedState();
        }

        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        Assert.Equal(StateText.Describe(mirror), StateText.Describe(reopened.State));
        Assert.Equal(["00000000000000000030.snap"], disk.List(SnapDirectory));
    }

    [Fact]
    public void A_snapshot_installed_from_a_peer_is_durable_before_the_records_after_it()
    {
        var disk = Stores.NewSimDisk();
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        AppendChosen(storage, 1, 5);
        var install = new SnapshotOp(100, new byte[] { 1, 0, 0 });

        // The core emits the install and the commit index it implies in one Ready.
        storage.Append([new AcceptOp(6, new Ballot(2, 1), [[6]]), install, new CommitOp(100)]);

        Assert.False(storage.HasPendingSnapshot);
        Assert.Equal(100, storage.SnapshotSlot);
        disk.Crash(tearLastWrite: false);
        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        Assert.Equal(100, reopened.State.SnapshotSlot);
        Assert.Equal(100, reopened.State.CommitIndex);
        Assert.Empty(reopened.State.Entries);
    }

    [Fact]
    public void A_stale_snapshot_is_ignored_like_the_fold_ignores_it()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        AppendChosen(storage, 1, 30);
        storage.Append([new SnapshotOp(20, new byte[] { 2 })]);
        Stores.RunPendingSnapshot(storage);

        storage.Append([new SnapshotOp(10, new byte[] { 1 })]);

        Assert.False(storage.HasPendingSnapshot);
        Assert.Equal(20, storage.CloneAppendedState().SnapshotSlot);
    }

    [Fact]
    public void CompleteSnapshot_before_Run_is_refused()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        AppendChosen(storage, 1, 3);
        storage.Append([new SnapshotOp(2, new byte[] { 2 })]);
        var write = storage.TakePendingSnapshot()!;

        var error = Assert.Throws<InvalidOperationException>(() => storage.CompleteSnapshot(write));

        Assert.Contains("before its Run() returned", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Chosen values for the slots, then the commit index over them, synced.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_files_a_checkpoint_supersedes_wait_for_its_sync_and_a_crash_before_it_loses_nothing(bool tear)
    {
        var disk = Stores.NewSimDisk();
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments);
        AppendChosen(storage, 1, 100);
        storage.Append([new SnapshotOp(10, new byte[] { 1 })]);
        Stores.RunPendingSnapshot(storage);
        AppendChosen(storage, 101, 200);
        var segmentsBefore = disk.List(WalDirectory).Count;
        storage.Append([new SnapshotOp(150, new byte[] { 1, 5, 0 })]);
        var write = storage.TakePendingSnapshot()!;
        write.Run();
        storage.CompleteSnapshot(write);

        // The checkpoint is written, not synced, on the owner's thread: nothing is deleted before a sync makes it durable.
        Assert.True(storage.CleanupWaitsForSync);
        Assert.Null(storage.TakeCleanup());
        Assert.Equal(segmentsBefore + 1, disk.List(WalDirectory).Count);
        Assert.Equal(2, disk.List(SnapDirectory).Count);
        var mirror = storage.CloneAppendedState();

        // A crash now (the checkpoint lost or torn): the previous checkpoint and its segments are all still there.
        disk.Crash(tear);
        using (var recovered = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments))
        {
            Assert.Equal(StateText.Describe(mirror), StateText.Describe(recovered.State));
        }

        // The next compaction, synced: the superseded files go (on any thread), and the store reopens to the same state.
        using (var again = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments))
        {
            again.Append([new SnapshotOp(180, new byte[] { 1, 8, 0 })]);
            Stores.RunPendingSnapshot(again);
            Assert.False(again.CleanupWaitsForSync);
            Assert.True(disk.List(WalDirectory).Count < segmentsBefore, $"{disk.List(WalDirectory).Count} segments after the cleanup, {segmentsBefore} before");
            Assert.Equal(["00000000000000000180.snap"], disk.List(SnapDirectory));
            mirror = again.CloneAppendedState();
        }

        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        Assert.Equal(StateText.Describe(mirror), StateText.Describe(reopened.State));
    }

    internal static void AppendChosen(ReplicaStorage storage, long from, long to)
    {
        var ops = new List<PersistOp>();
        for (var slot = from; slot <= to; slot++)
        {
            ops.Add(new ChosenOp(slot, [BitConverter.GetBytes(slot), new byte[20]]));
        }

        ops.Add(new CommitOp(to));
        storage.Append(ops);
        storage.Sync();
    }
}
