using Synod.Core;
using Synod.Driver;
using Synod.Kv;
using Synod.Server;

namespace Synod.Tests.Driver;

/// <summary>
/// A state machine restored ahead (a restarting server restores its stored snapshot on another thread while its log is
/// read) is handed to the driver only for the very memory it was restored from, once; anything else is restored where
/// it is installed. The simulator's --restored-ahead-unchecked shows what handing it out otherwise breaks.
/// </summary>
public sealed class RestoredAheadTests
{
    private static readonly ReadOnlyMemory<byte> Snapshot = new KvStateMachine().Snapshot();

    /// <summary>The driver's restore of <see cref="Snapshot"/>, counting how often it ran.</summary>
    private sealed class CountedRestore
    {
        public int Count { get; private set; }

        public KvStateMachine Restore()
        {
            Count++;
            return ReplicaDriver.RestoreStateMachine(Snapshot, new DriverOptions(), ProtocolBugs.None);
        }
    }

    [Fact]
    public void What_was_offered_is_taken_once_for_the_memory_it_was_restored_from_and_restored_only_then()
    {
        var restores = new CountedRestore();
        var ahead = new RestoredAhead();
        ahead.Offer(Snapshot, restores.Restore);

        var taken = ahead.Take(Snapshot);

        Assert.NotNull(taken);
        Assert.Equal(Snapshot.ToArray(), taken.Snapshot());
        Assert.True(ahead.Taken);
        Assert.Null(ahead.Take(Snapshot));
        Assert.Equal(1, restores.Count);
    }

    [Fact]
    public void The_same_bytes_in_other_memory_are_not_handed_what_was_offered_and_the_offer_is_dropped()
    {
        var restores = new CountedRestore();
        var ahead = new RestoredAhead();
        ahead.Offer(Snapshot, restores.Restore);

        // An install of another snapshot (here: equal bytes elsewhere) restores its own; nothing offered is held after it.
        Assert.Null(ahead.Take(Snapshot.ToArray()));
        Assert.Null(ahead.Take(Snapshot));
        Assert.False(ahead.Taken);
        Assert.Equal(0, restores.Count);

        var whole = new byte[Snapshot.Length + 1];
        Snapshot.CopyTo(whole);
        ahead.Offer(whole.AsMemory(0, Snapshot.Length), () => new KvStateMachine());
        Assert.Null(ahead.Take(whole.AsMemory(1, Snapshot.Length)));
    }

    [Fact]
    public void A_restore_that_failed_ahead_fails_the_install_with_the_same_exception()
    {
        var ahead = new RestoredAhead();
        ahead.Offer(Snapshot, () => throw new KvFormatException("The snapshot body has key #3 out of order."));

        var error = Assert.Throws<KvFormatException>(() => ahead.Take(Snapshot));

        Assert.Equal("The snapshot body has key #3 out of order.", error.Message);
    }

    [Fact]
    public void The_servers_restore_on_its_own_thread_hands_over_a_damaged_snapshots_error_as_the_install_would_have_thrown_it()
    {
        var damaged = Snapshot.ToArray();
        damaged[^1] ^= 0x40;
        var expected = Assert.Throws<KvFormatException>(() => ReplicaDriver.RestoreStateMachine(damaged, new DriverOptions(), ProtocolBugs.None));
        var ahead = new RestoredAhead();

        ReplicaHost.RestoreAhead(ahead, damaged, new DriverOptions(), ProtocolBugs.None);

        // Not an AggregateException: the owner loop reports what the restore said.
        var error = Assert.Throws<KvFormatException>(() => ahead.Take(damaged));
        Assert.Equal(expected.Message, error.Message);
    }

    [Fact]
    public void The_server_restores_a_sound_snapshot_on_its_own_thread_and_the_install_takes_it()
    {
        var stored = Snapshot.ToArray();
        var ahead = new RestoredAhead();

        ReplicaHost.RestoreAhead(ahead, stored, new DriverOptions(), ProtocolBugs.None);

        Assert.Equal(Snapshot.ToArray(), ahead.Take(stored)?.Snapshot());
        Assert.True(ahead.Taken);
    }

    [Fact]
    public void Nothing_offered_is_nothing_taken()
    {
        var ahead = new RestoredAhead();

        Assert.Null(ahead.Take(Snapshot));
        Assert.False(ahead.Taken);
    }

    [Fact]
    public void The_unchecked_bug_hands_out_what_was_offered_for_any_memory_and_again()
    {
        var ahead = new RestoredAhead { UncheckedBug = true };
        ahead.Offer(Snapshot, () => new KvStateMachine());

        Assert.NotNull(ahead.Take(Snapshot.ToArray()));
        Assert.NotNull(ahead.Take(Snapshot));
    }
}
