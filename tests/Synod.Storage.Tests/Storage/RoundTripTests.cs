using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

public sealed class RoundTripTests
{
    private static readonly byte[] Value = [1, 2, 3];

    /// <summary>Every op type, in an order that exercises each fold rule (a chosen value is not overwritten by an accept).</summary>
    private static List<PersistOp> EveryOpType() =>
    [
        new PromiseOp(new Ballot(3, 2)),
        new AcceptOp(1, new Ballot(3, 2), [Value, [9]]),
        new AcceptOp(2, new Ballot(3, 2), [[]]),
        new ChosenOp(2, [[7, 7]]),
        new AcceptOp(2, new Ballot(4, 1), [[8]]),
        new CommitOp(2),
        new AcceptOp(3, new Ballot(4, 1), [Value]),
        new RebuildOp(),
        new VoterOp(new Ballot(5, 3)),
        new IncarnationOp(4, 7),
        new AcceptOp(long.MaxValue, new Ballot(long.MaxValue, int.MaxValue), []),
    ];

    [Fact]
    public void Every_op_type_round_trips_through_a_real_directory()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        AssertRoundTrip(disk, temp.Path);
    }

    [Fact]
    public void Every_op_type_round_trips_through_a_simulated_disk()
    {
        AssertRoundTrip(Stores.NewSimDisk(), Stores.SimDirectory);
    }

    [Fact]
    public void A_snapshot_round_trips_and_the_log_above_it_stays()
    {
        var disk = Stores.NewSimDisk();
        var ops = EveryOpType();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            storage.Append(ops);
            storage.Append([new SnapshotOp(2, new byte[] { 42, 43 })]);
            storage.Sync();
            Stores.RunPendingSnapshot(storage);
        }

        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        Assert.Equal(StateText.Describe(StateText.Fold([.. ops, new SnapshotOp(2, new byte[] { 42, 43 })])), StateText.Describe(reopened.State));
        Assert.Equal(2, reopened.SnapshotSlot);
    }

    [Fact]
    public void Each_op_type_encodes_and_decodes_to_an_equal_op()
    {
        foreach (var op in EveryOpType())
        {
            var payload = new byte[RecordEncoder.PayloadBytes(op)];
            RecordEncoder.EncodePayload(op, payload);

            var decoded = RecordDecoder.Decode(payload);

            Assert.Equal(StateText.Describe(StateText.Fold([op])), StateText.Describe(StateText.Fold([decoded])));
            Assert.Equal(op.GetType(), decoded.GetType());
        }
    }

    private static void AssertRoundTrip(IDisk disk, string directory)
    {
        var ops = EveryOpType();
        using (var storage = Stores.Open(disk, directory, StorageOpenMode.NewCluster))
        {
            storage.Append(ops.Take(4).ToList());
            storage.Append(ops.Skip(4).ToList());
            storage.Sync();
            Assert.Equal(ops.Count, storage.RecordsWritten);
            Assert.Equal(1, storage.Syncs);
        }

        using var reopened = Stores.Open(disk, directory);
        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
        Assert.Equal(StateText.Describe(reopened.State), StateText.Describe(reopened.CloneAppendedState()));
    }
}
