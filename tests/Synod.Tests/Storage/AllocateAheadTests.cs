using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// On a real disk the log's last segment keeps zeros written ahead of its end (so that an fdatasync after an append
/// does not also write the inode). They are never data: a restart finds every record and cuts the zeros off without
/// a warning, and a closed segment ends at its last record.
/// </summary>
public sealed class AllocateAheadTests
{
    [Fact]
    public void A_restart_finds_every_record_before_the_zeros_allocated_ahead_and_warns_of_nothing()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        var ops = Accepts(1, 50);
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster))
        {
            storage.Append(ops);
            storage.Sync();
        }

        var segment = Directory.GetFiles(Path.Combine(temp.Path, "wal")).Single();
        var records = RecordBytes(ops);
        Assert.True(new FileInfo(segment).Length > records + 4096, $"the segment is {new FileInfo(segment).Length} bytes for {records} bytes of records: nothing was allocated ahead");

        var log = new List<string>();
        var more = Accepts(51, 10);
        using (var reopened = Stores.Open(disk, temp.Path, log: log))
        {
            Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
            reopened.Append(more);
            reopened.Sync();
        }

        Assert.Empty(log);
        using var again = Stores.Open(disk, temp.Path, log: log);
        Assert.Equal(StateText.Describe(StateText.Fold([.. ops, .. more])), StateText.Describe(again.State));
        Assert.Empty(log);
    }

    [Fact]
    public void A_closed_segment_ends_at_its_last_record_and_only_the_last_one_has_zeros_ahead()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        var ops = Accepts(1, 400);
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster, Stores.SmallSegments))
        {
            foreach (var op in ops)
            {
                storage.Append([op]);
                storage.Sync();
            }
        }

        var segments = Directory.GetFiles(Path.Combine(temp.Path, "wal")).Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count > 2, $"only {segments.Count} segments; the test needs the log to roll");
        foreach (var closed in segments.SkipLast(1))
        {
            var bytes = File.ReadAllBytes(closed);
            Assert.True(bytes[^1] != 0 || bytes.Length < 4096, $"{closed} ends in zeros: a closed segment kept its allocated-ahead space");
            Assert.True(bytes.Length <= StorageOptions.SegmentBytesMin, $"{closed} is {bytes.Length} bytes, over the {StorageOptions.SegmentBytesMin}-byte segment limit");
        }

        var log = new List<string>();
        using var reopened = Stores.Open(disk, temp.Path, options: Stores.SmallSegments, log: log);
        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
        Assert.Empty(log);
    }

    [Fact]
    public void A_torn_record_in_the_allocated_space_is_still_cut_off_with_a_warning()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        var ops = Accepts(1, 5);
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster))
        {
            storage.Append(ops);
            storage.Sync();
        }

        // A crash that got only the first bytes of the next record's header to the disk, inside the zeros.
        var segment = Directory.GetFiles(Path.Combine(temp.Path, "wal")).Single();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Position = RecordBytes(ops);
            file.Write([0x2a, 0x2a, 0x2a]);
        }

        var log = new List<string>();
        using var reopened = Stores.Open(disk, temp.Path, log: log);
        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
        Assert.Contains(log, line => line.Contains("cut off a torn last record", StringComparison.Ordinal));
    }

    private static List<PersistOp> Accepts(long firstSlot, int count) =>
        [.. Enumerable.Range(0, count).Select(i => (PersistOp)new AcceptOp(firstSlot + i, new Ballot(1, 1), [new byte[100 + i]]))];

    private static long RecordBytes(IEnumerable<PersistOp> ops) => ops.Sum(op => RecordFormat.HeaderBytes + RecordEncoder.PayloadBytes(op));
}
