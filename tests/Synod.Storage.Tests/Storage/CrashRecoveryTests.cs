using Synod.Core.Persistence;
using Synod.Core;
using Synod.Simulation;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// A crash loses what was appended and not synced (with tearing, a prefix of it may survive); recovery must give the
/// fold of the synced ops plus some prefix of the unsynced ones: never fewer records, never a wrong value.
/// </summary>
public sealed class CrashRecoveryTests
{
    private const int Seeds = 150;
    private const int CrashesPerSeed = 4;

    public static TheoryData<bool> Tearing => [false, true];

    [Theory]
    [MemberData(nameof(Tearing))]
    public void Recovery_after_a_crash_gives_the_synced_state_or_a_longer_prefix(bool tear)
    {
        for (var seed = 1UL; seed <= Seeds; seed++)
        {
            RunSeed(seed, tear);
        }
    }

    [Fact]
    public void Skipping_fsync_loses_synced_records_in_a_crash()
    {
        var disk = Stores.NewSimDisk();
        using (var storage = Stores.Open(disk, Stores.SimDirectory, StorageOpenMode.NewCluster))
        {
            disk.SkipFsync = true;
            storage.Append([new PromiseOp(new Ballot(5, 1))]);
            storage.Sync();
        }

        disk.Crash(tearLastWrite: false);
        disk.SkipFsync = false;
        using var reopened = Stores.Open(disk, Stores.SimDirectory);
        Assert.True(reopened.State.Promised.IsZero, "the bug switch should have lost the promise");
    }

    private static void RunSeed(ulong seed, bool tear)
    {
        var disk = new SimulatedDisk(new SeededRandom(seed));
        var random = new SeededRandom(seed * 7919);
        var generator = new OpGenerator(seed);
        var options = seed % 2 == 0 ? Stores.SmallSegments : new StorageOptions();
        var synced = new DurableState();
        var mode = StorageOpenMode.NewCluster;
        for (var crash = 0; crash < CrashesPerSeed; crash++)
        {
            var unsynced = new List<PersistOp>();
            using (var storage = Stores.Open(disk, Stores.SimDirectory, mode, options))
            {
                mode = StorageOpenMode.Existing;
                Assert.Equal(StateText.Describe(synced), StateText.Describe(storage.State));
                for (var batch = random.Next(30); batch > 0; batch--)
                {
                    var ops = generator.Take(1 + random.Next(6));
                    storage.Append(ops);
                    unsynced.AddRange(ops);
                    if (random.Chance(0.5))
                    {
                        storage.Sync();
                        Fold(synced, unsynced);
                        unsynced.Clear();
                    }
                }
            }

            disk.Crash(tear);
            synced = RecoveredPrefix(disk, options, synced, unsynced, $"seed={seed} tear={tear} crash={crash}");
        }
    }

    /// <summary>The recovered state, which must equal the synced state plus some prefix of the unsynced ops.</summary>
    private static DurableState RecoveredPrefix(SimulatedDisk disk, StorageOptions options, DurableState synced, List<PersistOp> unsynced, string context)
    {
        using var reopened = Stores.Open(disk, Stores.SimDirectory, options: options);
        var recovered = StateText.Describe(reopened.State);
        var candidate = synced.Clone();
        if (StateText.Describe(candidate) == recovered)
        {
            return candidate;
        }

        foreach (var op in unsynced)
        {
            candidate.Apply(op);
            if (StateText.Describe(candidate) == recovered)
            {
                return candidate;
            }
        }

        Assert.Fail($"{context}: the recovered state is no prefix of what was appended.\nrecovered:\n{recovered}\nsynced:\n{StateText.Describe(synced)}");
        return candidate;
    }

    private static void Fold(DurableState state, IEnumerable<PersistOp> ops)
    {
        foreach (var op in ops)
        {
            state.Apply(op);
        }
    }
}
