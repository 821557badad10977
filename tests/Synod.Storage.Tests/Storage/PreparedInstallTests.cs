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
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
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
    }

    [Fact]
    public void An_append_that_carries_other_bytes_for_the_slot_writes_those_bytes()
    {
        // Two peers' snapshots of one slot need not be the same bytes: the prepared file is used only for the very bytes.
        var disk = Stores.NewSimDisk();
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        storage.PrepareInstall(Installed(1))!.WriteTemporary();

        storage.Append([Installed(2)]);
        storage.Dispose();
        Assert.Equal(Installed(2).Data.ToArray(), Reopened(disk).SnapshotData?.ToArray());
    }

    [Fact]
    public void A_prepare_that_never_ran_leaves_the_append_to_write_the_file_and_does_nothing_afterwards()
    {
        var disk = Stores.NewSimDisk();
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        var install = Installed(3);
        var write = storage.PrepareInstall(install)!;

        storage.Append([install]);
        write.WriteTemporary();
        Assert.Equal(["00000000000000000500.snap"], disk.List(SnapDirectory));
        storage.Dispose();
        Assert.Equal(install.Data.ToArray(), Reopened(disk).SnapshotData?.ToArray());
    }

    [Fact]
    public void A_prepared_install_no_append_carries_leaves_no_file_behind()
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        storage.PrepareInstall(Installed(4))!.WriteTemporary();

        // The next snapshot appended is the log's own (slot 40, which the log covers): the prepared file is deleted.
        storage.Append([new SnapshotOp(40, new byte[] { 4, 0 })]);
        Assert.DoesNotContain("00000000000000000500.tmp", disk.List(SnapDirectory));
        Assert.Null(storage.PrepareInstall(new SnapshotOp(40, new byte[] { 4, 0 })));
    }

    /// <summary>An installed snapshot at <see cref="InstalledSlot"/>, far past a log of 60 slots, a few KiB of <paramref name="fill"/>.</summary>
    private static SnapshotOp Installed(byte fill) => new(InstalledSlot, Enumerable.Repeat(fill, 5_000).ToArray());

    private static DurableState Reopened(SimulatedDisk disk)
    {
        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        return reopened.State;
    }

    /// <summary>
    /// Prepares, writes ahead and appends an install, then syncs and cleans up as a host does, crashing at each disk
    /// operation in turn (torn or not); <paramref name="caught"/> is the first recovery that was neither the state before
    /// the install nor the state with it. Returns the operation count at which the sequence finished uncrashed.
    /// </summary>
    private static int CrashAtEveryStep(bool bug, out string? caught)
    {
        caught = null;
        for (var crashAt = 0; crashAt < OperationsMax; crashAt++)
        {
            var disk = Stores.NewSimDisk((ulong)crashAt + 1);
            var options = new StorageOptions { PreparedInstallUnsyncedBug = bug };
            var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, options);
            SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
            var before = StateText.Describe(storage.CloneAppendedState());
            var install = Installed(9);
            string? with = null;
            var completed = false;
            disk.CrashAfterOperations = crashAt;
            try
            {
                storage.PrepareInstall(install)!.WriteTemporary();
                storage.Append([install]);
                with = StateText.Describe(storage.CloneAppendedState());
                Stores.RunCleanup(storage);
                completed = true;
            }
            catch (SimulatedCrashException)
            {
            }

            disk.Crash(tearLastWrite: crashAt % 2 == 1);
            string recovered;
            try
            {
                recovered = StateText.Describe(Reopened(disk));
            }
            catch (Exception e) when (e is not SimulatedCrashException)
            {
                recovered = $"refused: {e.GetType().Name}: {e.Message}";
            }

            if (recovered != before && recovered != (with ?? StateText.Describe(WithInstall(install))))
            {
                caught = $"crash at operation {crashAt}: recovered\n{recovered}";
                return crashAt;
            }

            if (completed)
            {
                return crashAt;
            }
        }

        throw new InvalidOperationException($"the install did not finish within {OperationsMax} operations");
    }

    /// <summary>The state with the install appended after 60 chosen slots (the recovery of a crash after the rename).</summary>
    private static DurableState WithInstall(SnapshotOp install)
    {
        var disk = Stores.NewSimDisk();
        using var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        storage.Append([install]);
        return storage.CloneAppendedState();
    }
}
