using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>Files that vanished (a lost oldest segment, a deleted snapshot) are refused at start, never silently replayed around.</summary>
public sealed class MissingFilesTests
{
    private static readonly Ballot Ballot = new(7, 3);

    private static void WriteSeveralSegments(ReplicaStorage storage)
    {
        storage.Append([new PromiseOp(Ballot), new AcceptOp(1, Ballot, [new byte[100]])]);
        for (long slot = 2; slot < 60; slot++)
        {
            storage.Append([new AcceptOp(slot, Ballot, [new byte[200]])]);
        }

        storage.Sync();
    }

    [Fact]
    public void A_lost_oldest_segment_is_refused_rather_than_forgetting_the_promises_in_it()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            WriteSeveralSegments(storage);
            Assert.True(storage.SegmentCount > 2);
        }

        disk.Delete($"{Stores.SimDirectory}/wal/{StorageLayout.SegmentFileName(1)}");
        var refusal = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments));
        Assert.Contains("segments before it are missing", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("--rebuild-from-peers", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_snapshot_behind_a_checkpoint_is_refused_and_a_complete_one_opens()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            WriteSeveralSegments(storage);
            for (long slot = 1; slot < 60; slot++)
            {
                storage.Append([new ChosenOp(slot, [new byte[200]])]);
            }

            storage.Append([new CommitOp(59), new SnapshotOp(40, new byte[] { 1, 2, 3 })]);
            storage.Sync();
            Stores.RunPendingSnapshot(storage);
        }

        using (var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments))
        {
            Assert.Equal(40, reopened.State.SnapshotSlot);
            Assert.Equal(Ballot, reopened.State.Promised);
        }

        disk.Delete($"{Stores.SimDirectory}/snap/{StorageLayout.SnapshotFileName(40)}");
        var refusal = Assert.Throws<StorageException>(() => Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments));
        Assert.Contains("snapshot file is missing", refusal.Message, StringComparison.Ordinal);
    }
}
