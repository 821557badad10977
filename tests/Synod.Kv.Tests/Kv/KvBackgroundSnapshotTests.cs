using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>A snapshot serialised on another thread while writes go on equals the one taken at its begin, and loses no write.</summary>
public sealed class KvBackgroundSnapshotTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task A_background_snapshot_equals_the_state_at_its_begin_and_writes_made_meanwhile_are_kept(int seed)
    {
        var random = new Random(seed);
        var live = WithClients(5);
        var reference = WithClients(5);
        var sequences = new Dictionary<ulong, ulong>();
        void Step()
        {
            var client = (ulong)random.Next(1, 6);
            var sequence = sequences[client] = sequences.GetValueOrDefault(client) + 1;
            var key = $"k{random.Next(30)}";
            var command = random.Next(3) == 0 ? Delete(client, sequence, key) : Put(client, sequence, key, $"v{random.Next(1000)}");
            Assert.Equal(Apply(reference, command), Apply(live, command));
        }

        for (var i = 0; i < 200; i++)
        {
            Step();
        }

        var expected = reference.Snapshot();
        var job = live.BeginSnapshot();
        for (var i = 0; i < 200; i++)
        {
            Step();
            Assert.Equal(reference.Count, live.Count);
            Assert.Equal(reference.ContentHash(), live.ContentHash());
            var probe = $"k{random.Next(30)}";
            Assert.Equal(Get(reference, probe), Get(live, probe));
        }

        Assert.Equal(expected, await Task.Run(job.Serialize));
        live.EndSnapshot(job);
        Assert.False(live.SnapshotInProgress);
        Assert.Equal(reference.Snapshot(), live.Snapshot());
    }

    [Fact]
    public void Only_one_background_snapshot_runs_at_a_time_and_a_plain_snapshot_waits_for_it()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "a", "1"));
        var job = machine.BeginSnapshot();

        Assert.Throws<InvalidOperationException>(() => machine.BeginSnapshot());
        Assert.Throws<InvalidOperationException>(() => machine.Snapshot());
        machine.EndSnapshot(job);
        Assert.Throws<InvalidOperationException>(() => machine.EndSnapshot(job));
        Assert.Equal(job.Serialize(), machine.Snapshot());
    }

    [Fact]
    public void A_snapshot_over_its_limit_is_refused_with_its_size_and_the_state_goes_on()
    {
        var machine = WithClients(1);
        Apply(machine, Put(1, 1, "k", new string('x', 5_000)));
        var whole = machine.Snapshot().Length;

        var job = machine.BeginSnapshot([1, 2, 3], bytesMax: whole);
        var refused = Assert.Throws<KvSnapshotTooLargeException>(() => job.Serialize());
        machine.EndSnapshot(job);

        Assert.Equal((whole + 3L, (long)whole), (refused.Bytes, refused.Limit));
        Apply(machine, Put(1, 2, "k", "small"));
        var fits = machine.BeginSnapshot([1, 2, 3], bytesMax: 2L * whole);
        Assert.True(fits.Serialize().Length <= 2 * whole);
        machine.EndSnapshot(fits);
    }
}
