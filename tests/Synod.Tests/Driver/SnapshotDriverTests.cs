using System.Text;
using Synod.Core;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// When the driver snapshots, and what it hands the log, on real drivers and cores. Found with 1 MiB values on a real
/// cluster (docs/performance.md, "Scale"): every snapshot was followed at once by a second of the whole state, the
/// core copied each one on the owner loop, and with a state far larger than the byte trigger a snapshot was due every
/// few puts; the stalls outlasted the election timeout and leaders lost their quorum.
/// </summary>
public sealed class SnapshotDriverTests
{
    private const long TriggerBytes = 1024;

    [Fact]
    public void A_snapshot_handed_to_the_log_is_not_followed_at_once_by_another()
    {
        var cluster = new DriverCluster(3, sessionsMax: 16, options => options with { SnapshotEveryBytes = TriggerBytes });
        var leader = cluster.ElectLeader();
        var client = cluster.Register(leader, nonce: 5);

        // The log is past the trigger until it writes the snapshot and compacts (as the server's is); the snapshot this
        // write starts is serialised while the next write is under way.
        cluster.LogBytesSinceSnapshot = 1 << 20;
        cluster.HoldBackground = true;
        cluster.Write(leader, Put(client, 1, "a"));
        Assert.Equal(1, cluster.SnapshotsStarted[leader]);

        // The next write is accepted by the followers; their answers reach the leader in the same pass of its loop as
        // the finished snapshot, so one Ready carries both the snapshot and a newly chosen slot.
        var answers = new List<Synod.Core.Messages.Message>();
        cluster.Drop = message =>
        {
            if (message is Synod.Core.Messages.Accepted && message.To == leader)
            {
                answers.Add(message);
                return true;
            }

            return false;
        };
        cluster.Write(leader, Put(client, 2, "b"));
        Assert.NotEmpty(answers);
        cluster.FinishHeldSnapshot();
        foreach (var answer in answers)
        {
            cluster[leader].Step(answer);
        }

        cluster[leader].Process();
        Assert.Single(cluster.SnapshotsLogged[leader]);
        Assert.Equal(1, cluster.SnapshotsStarted[leader]);
    }

    /// <summary>
    /// Found filling 4M keys of 256 B (docs/performance.md, "The largest state"): the state outgrew the largest snapshot
    /// a replica may write (1 GiB), every replica's storage refused its snapshot at the same slot, and every replica
    /// stopped. Now an oversized snapshot is not taken: the replica goes on serving with its log kept, tries again only
    /// once the log has grown by as much again, and takes one as soon as the state fits.
    /// </summary>
    [Fact]
    public void A_snapshot_over_the_size_limit_is_not_taken_and_the_replica_goes_on_serving()
    {
        var cluster = new DriverCluster(1, sessionsMax: 16, options => options with { SnapshotEveryBytes = TriggerBytes },
            core => core with { SnapshotChunkBytes = 1024, SnapshotBytesMax = 4096 });
        cluster.ElectLeader();
        var client = cluster.Register(1, nonce: 5);
        var big = new string('x', 1500);
        ulong sequence = 0;
        foreach (var key in new[] { "a", "b", "c" })
        {
            Assert.Equal(KvStatus.Ok, cluster.Write(1, new KvCommand(client, ++sequence, KvOperation.Put, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(big))).Result!.Status);
        }

        cluster.LogBytesSinceSnapshot = TriggerBytes;
        Assert.Equal(KvStatus.Ok, cluster.Write(1, Put(client, ++sequence, "d")).Result!.Status);
        Assert.Equal(1, cluster.SnapshotsStarted[1]);
        Assert.Equal(1, cluster[1].SnapshotsTooLarge);
        Assert.False(cluster.SnapshotsLogged.ContainsKey(1));

        // Not tried again at every write while the log has not grown by another snapshot's worth.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(KvStatus.Ok, cluster.Write(1, Put(client, ++sequence, $"more-{i}")).Result!.Status);
        }

        Assert.Equal(1, cluster.SnapshotsStarted[1]);

        // Once the state fits (the keys deleted and the history that still held their values compacted), the next due
        // snapshot is taken.
        foreach (var key in new[] { "a", "b", "c" })
        {
            Assert.Equal(KvStatus.Ok, cluster.Write(1, new KvCommand(client, ++sequence, KvOperation.Delete, Encoding.UTF8.GetBytes(key), [])).Result!.Status);
        }

        Assert.Equal(KvStatus.Ok, cluster.Write(1, KvCommand.CompactTo(client, ++sequence, cluster[1].Kv.Revision)).Result!.Status);

        cluster.LogBytesSinceSnapshot = 1 << 20;
        Assert.Equal(KvStatus.Ok, cluster.Write(1, Put(client, ++sequence, "e")).Result!.Status);
        Assert.Single(cluster.SnapshotsLogged[1]);
        Assert.Equal(1, cluster[1].SnapshotsTooLarge);
    }

    /// <summary>
    /// Found at 2.75M keys on real processes (docs/performance.md, "Snapshots one replica at a time"): every replica
    /// counts the same slots, so all three began serialising the 790 MiB state at the same slot and wrote it at once;
    /// puts ran at a third of their rate for the 18 seconds that took. Each voter now has its own phase of the slot
    /// trigger, a third of it apart with three, tied to slot numbers so that it holds cycle after cycle.
    /// </summary>
    [Fact]
    public void Replicas_take_their_snapshots_in_their_own_phase_of_the_slot_trigger()
    {
        const long every = 30;
        var cluster = new DriverCluster(3, sessionsMax: 16, options => options with { SnapshotEverySlots = every, SnapshotEveryBytes = long.MaxValue })
        {
            LogCompactsAtOnce = true,
        };
        var leader = cluster.ElectLeader();
        var client = cluster.Register(leader, nonce: 5);
        for (ulong sequence = 1; sequence <= 110; sequence++)
        {
            Assert.Equal(KvStatus.Ok, cluster.Write(leader, Put(client, sequence, $"k{sequence}")).Result!.Status);
        }

        // Replica 1 (first of three) at multiples of the trigger, replica 2 a third earlier, replica 3 two thirds; the
        // first at least half a trigger after the start.
        long[] Slots(int id) => [.. cluster.SnapshotsLogged[id].Select(snapshot => snapshot.Slot)];
        Assert.Equal([30, 60, 90], Slots(1));
        Assert.Equal([20, 50, 80, 110], Slots(2));
        Assert.Equal([40, 70, 100], Slots(3));
    }

    [Theory]
    [InlineData(0, 10_000, 0, 3, 10_000)]
    [InlineData(0, 10_000, 1, 3, 6_667)]
    [InlineData(0, 10_000, 2, 3, 13_334)]
    [InlineData(45_626, 10_000, 0, 3, 60_000)] // restarted from a snapshot just past its phase: the next one, not at once
    [InlineData(45_548, 10_000, 1, 3, 56_667)]
    [InlineData(45_628, 10_000, 2, 3, 53_334)]
    [InlineData(7, 1, 0, 3, 8)] // a snapshot every slot: no phases
    [InlineData(100, 30, -1, 3, 130)] // no voter: the plain trigger
    [InlineData(100, 30, 0, 1, 130)] // alone: the plain trigger
    [InlineData(5, long.MaxValue, 2, 3, long.MaxValue)] // snapshots by slots off
    public void The_slot_a_snapshot_is_due_keeps_the_phase_and_half_a_trigger_at_least(long last, long every, int place, int voters, long due)
    {
        var slot = ReplicaDriver.SnapshotDueSlot(last, every, place, voters);
        Assert.Equal(due, slot);
        if (every is > 1 and < long.MaxValue && place >= 0 && voters > 1)
        {
            Assert.InRange(slot - last, (every + 1) / 2, every + ((every + 1) / 2));
            Assert.Equal(0, (slot + (place * every / voters)) % every);
        }
    }

    private static KvCommand Put(ulong client, ulong sequence, string key) =>
        new(client, sequence, KvOperation.Put, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("v"));

    [Fact]
    public void The_log_stores_the_serialised_array_itself_and_it_restores_the_state()
    {
        var cluster = new DriverCluster(1, sessionsMax: 16, options => options with { SnapshotEveryBytes = TriggerBytes });
        cluster.ElectLeader();
        var client = cluster.Register(1, nonce: 5);
        cluster.Write(1, new KvCommand(client, 1, KvOperation.Put, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v")));

        cluster.LogBytesSinceSnapshot = TriggerBytes;
        cluster.Write(1, new KvCommand(client, 2, KvOperation.Put, Encoding.UTF8.GetBytes("k2"), Encoding.UTF8.GetBytes("v2")));
        var logged = Assert.Single(cluster.SnapshotsLogged[1]);

        // No copy of the state on the owner loop: the core keeps (and the log writes) what the background serialised,
        // the configuration envelope included.
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(logged.Data, out var segment));
        Assert.Same(cluster.LastSerialized, segment.Array);
        Assert.Equal(cluster.LastSerialized!.Length, logged.Data.Length);
        var restored = KvStateMachine.Restore(Replica.SnapshotShellBytes(logged.Data.Span));
        Assert.True(restored.TryGet(Encoding.UTF8.GetBytes("k"), out var value));
        Assert.Equal("v", Encoding.UTF8.GetString(value.Span));
        Assert.Equal(cluster[1].Core.SnapshotSlot, restored.AppliedSlot);
    }

    [Fact]
    public void By_bytes_the_next_snapshot_waits_for_as_much_log_as_the_last_snapshot_held()
    {
        var cluster = new DriverCluster(1, sessionsMax: 16, options => options with { SnapshotEveryBytes = TriggerBytes });
        cluster.ElectLeader();
        var client = cluster.Register(1, nonce: 5);
        var big = new byte[8 * 1024];
        cluster.Write(1, new KvCommand(client, 1, KvOperation.Put, Encoding.UTF8.GetBytes("big"), big));
        cluster.LogBytesSinceSnapshot = TriggerBytes;
        cluster.Write(1, new KvCommand(client, 2, KvOperation.Put, Encoding.UTF8.GetBytes("a"), [1]));
        Assert.Equal(1, cluster.SnapshotsStarted[1]);
        var snapshotBytes = cluster[1].Core.SnapshotBytes;
        Assert.True(snapshotBytes > 8 * 1024, $"the snapshot holds the 8 KiB value ({snapshotBytes} bytes)");

        // The log compacted (the server's resets its count); past the trigger but short of the snapshot's size: not yet.
        cluster.SnapshotsLogged[1].Clear();
        cluster.LogBytesSinceSnapshot = snapshotBytes - 1;
        cluster.Write(1, new KvCommand(client, 3, KvOperation.Put, Encoding.UTF8.GetBytes("b"), [2]));
        Assert.Equal(1, cluster.SnapshotsStarted[1]);

        cluster.LogBytesSinceSnapshot = snapshotBytes;
        cluster.Write(1, new KvCommand(client, 4, KvOperation.Put, Encoding.UTF8.GetBytes("c"), [3]));
        Assert.Equal(2, cluster.SnapshotsStarted[1]);
    }
}
