using Synod.Core.Persistence;
using Synod.Simulation;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// A crash at every disk operation of the snapshot sequence (write tmp, sync, rename, sync dir, roll, checkpoint,
/// sync, delete segments and snapshots): recovery gives the synced state, with or without the snapshot, and the
/// log goes on working.
/// </summary>
public sealed class SnapshotCrashTests
{
    private const int OperationsMax = 500;

    [Fact]
    public void A_crash_at_any_step_of_a_snapshot_recovers_the_synced_state()
    {
        var steps = 0;
        for (var crashAt = 0; crashAt < OperationsMax; crashAt++)
        {
            if (RunCrashingAt(crashAt, tear: crashAt % 2 == 1))
            {
                steps = crashAt;
                break;
            }
        }

        Assert.True(steps > 10, $"the snapshot sequence finished after {steps} operations; expected more steps to crash at");
    }

    /// <summary>Returns true when the sequence completed before the chosen operation (no crash left to test).</summary>
    private static bool RunCrashingAt(int crashAt, bool tear)
    {
        var disk = Stores.NewSimDisk((ulong)crashAt + 1);
        var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster, Stores.SmallSegments);
        SegmentAndSnapshotTests.AppendChosen(storage, 1, 60);
        storage.Append([new SnapshotOp(20, new byte[] { 2, 0 })]);
        Stores.RunPendingSnapshot(storage);
        SegmentAndSnapshotTests.AppendChosen(storage, 61, 120);
        var snapshot = new SnapshotOp(90, new byte[] { 9, 0 });
        storage.Append([snapshot]);
        var withSnapshot = storage.CloneAppendedState();
        var withoutSnapshot = ExpectedWithoutSecondSnapshot();

        disk.CrashAfterOperations = crashAt;
        var completed = false;
        try
        {
            Stores.RunPendingSnapshot(storage);
            completed = true;
        }
        catch (SimulatedCrashException)
        {
        }

        disk.Crash(tear);
        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        var recovered = StateText.Describe(reopened.State);
        var context = $"crash at operation {crashAt}, tear={tear}";
        Assert.True(recovered == StateText.Describe(withSnapshot) || (!completed && recovered == StateText.Describe(withoutSnapshot)), $"{context}: recovered\n{recovered}");

        // The recovered log accepts more records, and they survive another restart.
        reopened.Append([new CommitOp(121), new ChosenOp(121, [[1, 2, 1]])]);
        reopened.Sync();
        var expected = reopened.CloneAppendedState();
        reopened.Dispose();
        using var again = Stores.Open(disk, Stores.SimDirectory, options: Stores.SmallSegments);
        Assert.Equal(StateText.Describe(expected), StateText.Describe(again.State));
        return completed;
    }

    /// <summary>The synced state as it stood before the second snapshot: slots 21..120 as chosen, commit 120.</summary>
    private static DurableState ExpectedWithoutSecondSnapshot()
    {
        var state = new DurableState();
        state.Apply(new SnapshotOp(20, new byte[] { 2, 0 }));
        for (var slot = 21L; slot <= 120; slot++)
        {
            state.Apply(new ChosenOp(slot, [BitConverter.GetBytes(slot), new byte[20]]));
        }

        state.Apply(new CommitOp(120));
        return state;
    }
}
