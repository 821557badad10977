using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>Chunked snapshot transfer: a transfer in progress keeps its source, and is neither restarted nor left behind.</summary>
public sealed class SnapshotTransferTests
{
    [Fact]
    public void A_heartbeat_from_another_peer_does_not_restart_a_transfer_in_progress()
    {
        var replica = new Replica(new ReplicaOptions { Id = 1, Members = [1, 2, 3], SnapshotChunkBytes = 4, SnapshotBytesMax = 1024 }, new SeededRandom(1));
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        List<Message> Take()
        {
            var ready = replica.TakeReady();
            replica.Persisted(ready.Number);
            return ready.Messages;
        }

        // Leader 3 says commit 90; replica 1 asks it and gets chunk 0 of a snapshot at slot 90.
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        Take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data[..4]));
        Assert.Equal(4, Take().OfType<CatchUpRequest>().Single().SnapshotOffset);

        // The next chunk is slow; meanwhile follower 2 heartbeats a higher commit index. The request goes to 3 again.
        for (var i = 0; i < 5; i++)
        {
            replica.Tick();
            Take();
        }

        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0));
        var request = Take().OfType<CatchUpRequest>().Single();
        Assert.Equal((3, 4L), (request.To, request.SnapshotOffset));

        // A stray first chunk (from 2, or from 3 again) does not throw the progress away.
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data[4..8]));
        replica.Step(new InstallSnapshot(2, 1, 90, 0, 12, data[..4]));
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data[..4]));
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data[8..]));
        var ready = replica.TakeReady();
        Assert.Equal(90, replica.CommitIndex);
        Assert.Equal(data, ready.Snapshot!.Data);
    }
}
