using Synod.Simulation;
using Synod.Storage;

namespace Synod.Tests.Storage;

public sealed class SimulatedDiskTests
{
    private const string File = "/d/f";

    [Fact]
    public void A_crash_keeps_synced_bytes_and_loses_unsynced_ones()
    {
        var disk = NewDiskWithFile(out var file);
        file.Append([1, 2, 3]);
        file.Sync();
        file.Append([4, 5]);

        disk.Crash(tearLastWrite: false);

        Assert.Equal([1, 2, 3], disk.ReadAll(File));
        Assert.Throws<IOException>(() => file.Append([6]));
    }

    [Fact]
    public void A_torn_crash_keeps_a_prefix_of_whole_sectors_of_the_unsynced_bytes()
    {
        var written = Enumerable.Range(0, 1500).Select(i => (byte)(1 + (i % 250))).ToArray();
        var lengths = new HashSet<int>();
        for (var seed = 1UL; seed <= 60; seed++)
        {
            var disk = NewDiskWithFile(out var file, seed);
            file.Append(written.AsSpan(0, 2));
            file.Sync();
            file.Append(written.AsSpan(2));

            disk.Crash(tearLastWrite: true);

            // Sectors are written whole: the synced 2 bytes alone (the first sector lost), or whole sectors up to 512,
            // 1024, or everything.
            var bytes = disk.ReadAll(File);
            Assert.Equal(written[..bytes.Length], bytes);
            lengths.Add(bytes.Length);
        }

        Assert.Equal([2, 512, 1024, 1500], lengths.Order());
    }

    [Fact]
    public void SkipFsync_makes_a_sync_of_a_log_segment_do_nothing_and_leaves_other_files_alone()
    {
        var disk = NewDiskWithFile(out var file);
        disk.SkipFsync = true;
        var segment = disk.Open("/d/0000000000000000001.wal");
        segment.Append([1]);
        segment.Sync();
        file.Append([2]);
        file.Sync();

        disk.Crash(tearLastWrite: false);

        Assert.Empty(disk.ReadAll("/d/0000000000000000001.wal"));
        Assert.Equal([2], disk.ReadAll(File));
        Assert.Equal(2, disk.FileSyncs);
    }

    [Fact]
    public void CorruptSector_flips_bits_of_one_synced_byte_and_says_where()
    {
        var disk = NewDiskWithFile(out var file);
        Assert.Null(disk.CorruptSector());
        file.Append(new byte[1500]);
        file.Sync();
        file.Append(new byte[100]);

        var what = disk.CorruptSector();

        var bytes = disk.ReadAll(File);
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != 0).ToList();
        Assert.Single(changed);
        Assert.True(changed[0] < 1500);
        Assert.Contains($"offset {changed[0]}", what, StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_lock_fails_until_the_first_is_released()
    {
        var disk = NewDiskWithFile(out _);
        var held = disk.Lock("/d/LOCK");

        var error = Assert.Throws<DiskLockedException>(() => disk.Lock("/d/LOCK"));
        Assert.Contains("/d/LOCK", error.Message, StringComparison.Ordinal);

        held.Dispose();
        disk.Lock("/d/LOCK").Dispose();
    }

    [Fact]
    public void CrashAfterOperations_fails_the_chosen_operation_without_doing_it()
    {
        var disk = NewDiskWithFile(out var file);
        disk.CrashAfterOperations = 1;
        file.Append([1]);

        Assert.Throws<SimulatedCrashException>(() => file.Sync());
        disk.Crash(tearLastWrite: false);

        Assert.Empty(disk.ReadAll(File));
        Assert.Null(disk.CrashAfterOperations);
    }

    [Fact]
    public void Renaming_a_directory_moves_everything_under_it()
    {
        var disk = NewDiskWithFile(out var file);
        file.Append([9]);
        disk.CreateDirectory("/d/sub/deeper");

        disk.Rename("/d", "/e");

        Assert.Equal([9], disk.ReadAll("/e/f"));
        Assert.True(disk.IsDirectory("/e/sub/deeper"));
        Assert.False(disk.Exists("/d"));
        Assert.Equal(["f", "sub"], disk.List("/e"));
    }

    private static SimulatedDisk NewDiskWithFile(out IDiskFile file, ulong seed = 1)
    {
        var disk = Stores.NewSimDisk(seed);
        disk.CreateDirectory("/d");
        file = disk.Open(File);
        return disk;
    }
}
