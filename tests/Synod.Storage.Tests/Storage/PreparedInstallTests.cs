using Synod.Core;
using Synod.Core.Persistence;
using Synod.Simulation;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// A snapshot installed from a peer has its file written ahead of its append (ReplicaStorage.PrepareInstall), beside the
/// state machine's restore; the append only publishes it, in the same order as before: a crash anywhere recovers the
/// state before the install or with it, and the file holds the bytes the append carried.
/// </summary>
public sealed class PreparedInstallTests
{
    private const string SnapDirectory = Stores.SimDirectory + "/snap";
    private const long InstalledSlot = 500;
    private const int OperationsMax = 200;

    [Fact]
    public void A_prepared_install_is_only_a_temporary_file_until_its_append_publishes_it()
    {
        var disk = Stores.NewSimDisk();
        var storage = OpenWithSixtySlots(disk);
        var install = Installed(7);

        var write = storage.PrepareInstall(install) ?? throw new InvalidOperationException("nothing was prepared");
        write.WriteTemporary();
        Assert.Equal(["00000000000000000500.tmp"], disk.List(SnapDirectory));
        Assert.Equal(0, storage.SnapshotSlot);
        Assert.True(storage.HoldsSnapshotBytes(install.Data));

        storage.Append([install]);
        Assert.Equal(InstalledSlot, storage.SnapshotSlot);
        Assert.Equal(["00000000000000000500.snap"], disk.List(SnapDirectory));
        storage.Dispose();
        Assert.Equal(InstalledSlot, Reopened(disk).SnapshotSlot);
    }

    [Fact]
    public void A_crash_at_any_step_of_a_prepared_install_recovers_the_state_before_it_or_with_it()
    {
        var completedAt = CrashAtEveryStep(bug: false, out var caught);
        Assert.Null(caught);
        Assert.True(completedAt > 5, $"the install finished after {completedAt} operations; expected more steps to crash at");
    }

    [Fact]
    public void A_prepared_install_published_without_the_sync_of_its_data_is_caught_by_the_crash_check()
    {
        // The check above can fail: a file published before its data is durable is lost to the first crash after it.
        CrashAtEveryStep(bug: true, out var caught);
        Assert.NotNull(caught);
        Assert.Contains(".snap is corrupt", caught, StringComparison.Ordinal);
    }

    [Fact]
    public void An_append_that_carries_other_bytes_for_the_slot_writes_those_bytes()
    {
        // Two peers' snapshots of one slot need not be the same bytes: the prepared file is used only for the very bytes.
        var disk = Stores.NewSimDisk();
        var storage = OpenWithSixtySlots(disk);
        storage.PrepareInstall(Installed(1))!.WriteTemporary();

        storage.Append([Installed(2)]);
        storage.Dispose();
        Assert.Equal(Installed(2).Data.ToArray(), Reopened(disk).SnapshotData?.ToArray());
    }

    [Fact]
    public void A_prepare_that_never_ran_leaves_the_append_to_write_the_file_and_does_nothing_afterwards()
    {
        var disk = Stores.NewSimDisk();
        var storage = OpenWithSixtySlots(disk);
        var install = Installed(3);
        var write = storage.PrepareInstall(install)!;

        storage.Append([install]);
        write.WriteTemporary();
        Assert.Equal(["00000000000000000500.snap"], disk.List(SnapDirectory));
        storage.Dispose();
        Assert.Equal(install.Data.ToArray(), Reopened(disk).SnapshotData?.ToArray());
    }

    [Fact]
    public void A_prepared_install_is_deleted_when_another_snapshot_is_appended_instead()
    {
        var disk = Stores.NewSimDisk();
        using var storage = OpenWithSixtySlots(disk);
        storage.PrepareInstall(Installed(4))!.WriteTemporary();

        // The next snapshot appended is the log's own (slot 40, which the log covers): the prepared file is deleted.
        storage.Append([new SnapshotOp(40, new byte[] { 4, 0 })]);
        Assert.DoesNotContain("00000000000000000500.tmp", disk.List(SnapDirectory));
        Assert.Null(storage.PrepareInstall(new SnapshotOp(40, new byte[] { 4, 0 })));
    }

    /// <summary>An installed snapshot at <see cref="InstalledSlot"/>, far past a log of 60 slots, a few KiB of <paramref name="fill"/>.</summary>
    private static SnapshotOp Installed(byte fill) => new(InstalledSlot, Enumerable.Repeat(fill, 5_000).ToArray());

    /// <summary>A new log on <paramref name="disk"/> with slots 1..60 chosen and synced: far below <see cref="InstalledSlot"/>.</summary>
    private static ReplicaStorage OpenWithSixtySlots(SimulatedDisk disk, StorageOptions? options = null)
    {
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, options);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        return storage;
    }

    private static DurableState Reopened(SimulatedDisk disk)
    {
        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        return reopened.State;
    }

    /// <summary>
    /// Prepares and writes ahead an install, with a promise appended (not synced) before it and chosen slots after it in
    /// the same append, then syncs and cleans up as a host does, crashing at each disk operation in turn (torn or not).
    /// A recovery must hold the snapshot before the install or the install's very bytes; with the install, the promise
    /// before it (the snapshot is durable after the records before it); and a slot after it only with the install (before
    /// any after it). <paramref name="caught"/> is the first recovery that breaks one of these. Returns the operation
    /// count at which the sequence finished uncrashed.
    /// </summary>
    private static int CrashAtEveryStep(bool bug, out string? caught)
    {
        caught = null;
        var promise = new Ballot(7, 2);
        for (var crashAt = 0; crashAt < OperationsMax; crashAt++)
        {
            var disk = Stores.NewSimDisk((ulong)crashAt + 1);
            var options = new StorageOptions { PreparedInstallUnsyncedBug = bug };
            var storage = OpenWithSixtySlots(disk, options);
            var install = Installed(9);
            var completed = false;
            disk.CrashAfterOperations = crashAt;
            try
            {
                storage.Append([new PromiseOp(promise)]);
                storage.PrepareInstall(install)!.WriteTemporary();
                storage.Append([install, new ChosenOp(InstalledSlot + 1, [[5, 0, 1]]), new CommitOp(InstalledSlot + 1)]);
                Stores.RunCleanup(storage);
                completed = true;
            }
            catch (SimulatedCrashException)
            {
            }

            disk.Crash(tearLastWrite: crashAt % 2 == 1);
            DurableState recovered;
            try
            {
                recovered = Reopened(disk);
            }
            catch (Exception e) when (e is not SimulatedCrashException)
            {
                caught = $"crash at operation {crashAt}: refused: {e.GetType().Name}: {e.Message}";
                return crashAt;
            }

            var problem = recovered.SnapshotSlot switch
            {
                0 when recovered.Entries.ContainsKey(InstalledSlot + 1) => "a slot after the install without it",
                0 => null,
                InstalledSlot when !recovered.SnapshotData!.Value.Span.SequenceEqual(install.Data.Span) => "other bytes for the install",
                InstalledSlot when recovered.Promised != promise => "the install without the promise appended before it",
                InstalledSlot => null,
                _ => $"a snapshot at slot {recovered.SnapshotSlot}",
            };
            if (problem is not null)
            {
                caught = $"crash at operation {crashAt}: recovered {problem}\n{StateText.Describe(recovered)}";
                return crashAt;
            }

            if (completed)
            {
                return crashAt;
            }
        }

        throw new InvalidOperationException($"the install did not finish within {OperationsMax} operations");
    }
}
