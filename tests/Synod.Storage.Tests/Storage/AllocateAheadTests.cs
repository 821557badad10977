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
    public void A_record_torn_at_a_sector_boundary_in_the_allocated_space_is_cut_off_with_a_warning()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        var ops = Accepts(1, 5);
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster))
        {
            storage.Append(ops);
            storage.Sync();
        }

        // A crash that got the next record to the disk only up to a sector boundary inside it; zeros after that.
        var next = new AcceptOp(6, new Ballot(1, 1), [Enumerable.Repeat((byte)0x11, 2000).ToArray()]);
        var start = RecordBytes(ops);
        var boundary = ((start + RecordFormat.HeaderBytes) / RecordFormat.SectorBytes + 1) * RecordFormat.SectorBytes;
        var segment = Directory.GetFiles(Path.Combine(temp.Path, "wal")).Single();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Position = start;
            file.Write(Record(next).AsSpan(0, (int)(boundary - start)));
        }

        var log = new List<string>();
        using var reopened = Stores.Open(disk, temp.Path, log: log);
        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
        Assert.Contains(log, line => line.Contains("cut off a torn last record", StringComparison.Ordinal));
    }

    [Fact]
    public void Bytes_in_the_allocated_space_that_no_crash_could_leave_are_refused()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        var ops = Accepts(1, 5);
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster))
        {
            storage.Append(ops);
            storage.Sync();
        }

        // Three bytes, then zeros: a sector is written whole or not at all, so this is damage, not a torn write.
        var segment = Directory.GetFiles(Path.Combine(temp.Path, "wal")).Single();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Position = RecordBytes(ops);
            file.Write([0x2a, 0x2a, 0x2a]);
        }

        var error = Assert.Throws<StorageException>(() => Stores.Open(disk, temp.Path).Dispose());
        Assert.Contains($"corrupt at offset {RecordBytes(ops)}", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Record(PersistOp op)
    {
        var payloadBytes = (int)RecordEncoder.PayloadBytes(op);
        var record = new byte[RecordFormat.HeaderBytes + payloadBytes];
        RecordEncoder.EncodePayload(op, record.AsSpan(RecordFormat.HeaderBytes));
        RecordFormat.WriteHeader(record.AsSpan(0, RecordFormat.HeaderBytes), record.AsSpan(RecordFormat.HeaderBytes));
        return record;
    }

    private static List<PersistOp> Accepts(long firstSlot, int count) =>
        [.. Enumerable.Range(0, count).Select(i => (PersistOp)new AcceptOp(firstSlot + i, new Ballot(1, 1), [new byte[100 + i]]))];

    private static long RecordBytes(IEnumerable<PersistOp> ops) => ops.Sum(op => RecordFormat.HeaderBytes + RecordEncoder.PayloadBytes(op));
}
