using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Once a snapshot is durable, the storage hands out its file mapped as memory, and holds that instead of the array it
/// was written from: a replica keeps one state-sized array less for the life of each snapshot.
/// </summary>
public sealed class StoredSnapshotTests
{
    [Fact]
    public void A_durable_snapshot_is_handed_out_once_as_its_mapped_file_and_again_after_a_restart()
    {
        using var temp = new TempDirectory();
        var data = Enumerable.Range(0, 3 * 1024 * 1024 + 5).Select(i => (byte)(i * 31)).ToArray();
        using (var storage = Stores.Open(new RealDisk(), temp.Path, StorageOpenMode.NewCluster))
        {
            Assert.Null(storage.TakeStoredSnapshot());
            SegmentAndSnapshotTests.AppendChosen(storage, 1, 30);
            storage.Append([new SnapshotOp(20, data)]);
            Assert.Null(storage.TakeStoredSnapshot());
            Stores.RunPendingSnapshot(storage);

            var stored = storage.TakeStoredSnapshot();

            Assert.Equal(20, stored?.Slot);
            Assert.True(stored!.Value.Data.Span.SequenceEqual(data));
            Assert.False(MemoryMarshal.TryGetArray(stored.Value.Data, out _), "the stored snapshot is an array, not the file mapped");
            Assert.False(MemoryMarshal.TryGetArray(storage.CloneAppendedState().SnapshotData!.Value, out _), "the storage still holds the array it wrote");
            Assert.Null(storage.TakeStoredSnapshot());
        }

        using var reopened = Stores.Open(new RealDisk(), temp.Path);
        Assert.True(MemoryMarshal.TryGetArray(reopened.State.SnapshotData!.Value, out _));
        var recovered = reopened.TakeStoredSnapshot();
        Assert.Equal(20, recovered?.Slot);
        Assert.True(recovered!.Value.Data.Span.SequenceEqual(data));
        Assert.False(MemoryMarshal.TryGetArray(reopened.State.SnapshotData!.Value, out _), "the recovered state still holds the array read at open");

        // Once the host has built its core from the recovered state, the storage lets go of its snapshot and entries.
        reopened.ForgetRecoveredData();
        Assert.Null(reopened.State.SnapshotData);
        Assert.Empty(reopened.State.Entries);
        Assert.True(reopened.CloneAppendedState().SnapshotData!.Value.Span.SequenceEqual(data));
    }

    [Fact]
    public void A_snapshot_installed_from_a_peer_is_handed_out_once_it_is_written()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 5);

        // Slot 50 is past the log: a snapshot from a peer, written at once.
        storage.Append([new SnapshotOp(50, new byte[] { 7, 8, 9 })]);

        var stored = storage.TakeStoredSnapshot();

        Assert.Equal(50, stored?.Slot);
        Assert.Equal([7, 8, 9], stored!.Value.Data.ToArray());
    }

    [Fact]
    public void A_snapshot_file_that_cannot_be_mapped_is_kept_in_memory_and_logged()
    {
        using var temp = new TempDirectory();
        var log = new List<string>();
        using var storage = Stores.Open(new RealDisk(), temp.Path, StorageOpenMode.NewCluster, log: log);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 30);
        storage.Append([new SnapshotOp(20, new byte[] { 1, 2, 3 })]);
        Stores.RunPendingSnapshot(storage);
        File.Delete(Path.Combine(temp.Path, "snap", "00000000000000000020.snap"));

        Assert.Null(storage.TakeStoredSnapshot());

        Assert.Contains(log, line => line.Contains("could not be mapped", StringComparison.Ordinal) && line.Contains("kept in memory", StringComparison.Ordinal));
        Assert.Equal([1, 2, 3], storage.CloneAppendedState().SnapshotData!.Value.ToArray());
    }

    [Fact]
    public void A_span_of_a_mapping_stays_readable_after_the_mapping_is_collected()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "file");
        var bytes = Enumerable.Range(0, 1024 * 1024).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(path, bytes);

        // Nothing references the mapping once the span is taken (CA2015's hazard): were it unmapped when collected,
        // reading the span afterwards would fault and end the test process.
        var span = SpanOfDroppedMapping(path);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.True(span.SequenceEqual(bytes.AsSpan(1)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReadOnlySpan<byte> SpanOfDroppedMapping(string path) => new RealDisk().Map(path, 1, 1024 * 1024 - 1).Span;
}
