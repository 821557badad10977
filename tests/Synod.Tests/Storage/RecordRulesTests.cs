using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>The pure decisions: how a record is checked, when a failure is a torn tail, names, gaps, limits.</summary>
public sealed class RecordRulesTests
{
    private const int Sector = RecordFormat.SectorBytes;

    [Fact]
    public void A_whole_record_passes_and_every_shorter_prefix_is_incomplete()
    {
        var record = Encode(new AcceptOp(4, new Ballot(2, 1), [[1, 2, 3]]));

        Assert.Equal(RecordVerdict.Complete, RecordInspector.Inspect(record, 1024, out var payload));
        Assert.Equal(record.Length - RecordFormat.HeaderBytes, payload);
        for (var length = 0; length < record.Length; length++)
        {
            var verdict = RecordInspector.Inspect(record.AsSpan(0, length), 1024, out _);
            Assert.Equal(length < RecordFormat.HeaderBytes ? RecordVerdict.IncompleteHeader : RecordVerdict.RunsPastEnd, verdict);
            Assert.True(TornTailRule.IsTornTail(verdict, record.AsSpan(0, length), payload, lastSegment: true));
            Assert.False(TornTailRule.IsTornTail(verdict, record.AsSpan(0, length), payload, lastSegment: false));
        }
    }

    [Fact]
    public void A_damaged_length_is_caught_by_the_header_checksum()
    {
        var record = Encode(new CommitOp(9));
        record[1] ^= 0x01;

        Assert.Equal(RecordVerdict.HeaderChecksumMismatch, RecordInspector.Inspect(record, 1024, out _));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, record, 0, lastSegment: true));
    }

    [Fact]
    public void A_length_out_of_range_under_a_valid_header_checksum_is_never_torn()
    {
        var record = Encode(new AcceptOp(1, new Ballot(1, 1), [new byte[100]]));

        Assert.Equal(RecordVerdict.LengthOutOfRange, RecordInspector.Inspect(record, 64, out _));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.LengthOutOfRange, record, 0, lastSegment: true));
    }

    [Fact]
    public void Zeros_from_inside_a_record_to_the_end_are_torn_only_if_they_fill_a_sector()
    {
        var whole = Encode(new AcceptOp(1, new Ballot(1, 1), [Filled(2 * Sector)]));
        foreach (var (zeroFrom, torn) in new[] { (whole.Length - Sector, true), (whole.Length - Sector + 1, false), (40, true), (RecordFormat.HeaderBytes, true) })
        {
            var record = (byte[])whole.Clone();
            Array.Clear(record, zeroFrom, record.Length - zeroFrom);
            var verdict = RecordInspector.Inspect(record, 4096, out var payload);

            Assert.Equal(RecordVerdict.PayloadChecksumMismatch, verdict);
            Assert.Equal(torn, TornTailRule.IsTornTail(verdict, record, payload, lastSegment: true));
            Assert.False(TornTailRule.IsTornTail(verdict, record, payload, lastSegment: false));
        }
    }

    [Fact]
    public void A_zeroed_header_is_torn_when_a_sector_of_zeros_runs_to_the_end()
    {
        Assert.True(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, new byte[Sector], 0, lastSegment: true));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, new byte[Sector - 1], 0, lastSegment: true));

        // Zeros that begin after the header do not explain a header that fails its checksum.
        var tail = new byte[RecordFormat.HeaderBytes + Sector];
        tail.AsSpan(0, RecordFormat.HeaderBytes).Fill(0x5a);
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, tail, 0, lastSegment: true));
    }

    [Fact]
    public void A_payload_that_fails_its_checksum_with_nonzero_bytes_is_corruption_even_at_the_end()
    {
        var record = Encode(new ChosenOp(3, [[7, 7, 7]]));
        record[^1] ^= 0x10;

        var scan = SegmentScanner.Scan(record, lastSegment: true, 1024);

        Assert.Equal(SegmentEnd.Corrupt, scan.End);
        Assert.Equal(0, scan.ValidBytes);
        Assert.Contains("payload checksum", scan.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scan_stops_at_the_first_bad_record_and_keeps_the_ones_before()
    {
        var good = Encode(new CommitOp(1));
        var segment = good.Concat(Encode(new CommitOp(2))).Concat(new byte[3]).ToArray();

        var scan = SegmentScanner.Scan(segment, lastSegment: true, 1024);

        Assert.Equal(SegmentEnd.TornTail, scan.End);
        Assert.Equal(2, scan.Ops.Count);
        Assert.Equal(2 * good.Length, scan.ValidBytes);
        Assert.Equal(3, scan.TornBytes);
    }

    [Fact]
    public void A_record_with_bytes_after_its_fields_does_not_decode()
    {
        var payload = new byte[RecordEncoder.PayloadBytes(new CommitOp(1)) + 1];
        RecordEncoder.EncodePayload(new CommitOp(1), payload.AsSpan(0, payload.Length - 1));
        var record = new byte[RecordFormat.HeaderBytes + payload.Length];
        payload.CopyTo(record, RecordFormat.HeaderBytes);
        RecordFormat.WriteHeader(record.AsSpan(0, RecordFormat.HeaderBytes), payload);

        var scan = SegmentScanner.Scan(record, lastSegment: true, 1024);

        Assert.Equal(SegmentEnd.Corrupt, scan.End);
        Assert.Contains("does not decode", scan.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gap_in_the_segment_numbers_is_found()
    {
        Assert.Null(ReplicaStorage.FindGap([4, 5, 6]));
        Assert.Null(ReplicaStorage.FindGap([1]));
        Assert.Equal(5, ReplicaStorage.FindGap([3, 4, 6, 7]));
    }

    [Fact]
    public void Layout_names_sort_numerically_and_parse_back()
    {
        Assert.Equal("00000000000000000012.wal", StorageLayout.SegmentFileName(12));
        Assert.True(StorageLayout.TryParseSegment("00000000000000000012.wal", out var sequence));
        Assert.Equal(12, sequence);
        Assert.False(StorageLayout.TryParseSegment("12.wal", out _));
        Assert.False(StorageLayout.TryParseSegment("0000000000000000001x.wal", out _));
        Assert.True(StorageLayout.TryParseSnapshot(StorageLayout.SnapshotFileName(long.MaxValue), out var slot));
        Assert.Equal(long.MaxValue, slot);
        Assert.True(StorageLayout.TryParseDiscarded("discarded-12", out var number));
        Assert.Equal(12, number);
        Assert.False(StorageLayout.TryParseDiscarded("discarded-", out _));
    }

    [Fact]
    public void A_snapshot_is_covered_only_when_every_slot_up_to_it_is_committed_and_in_the_log()
    {
        var state = StateText.Fold([new ChosenOp(1, [[1]]), new AcceptOp(2, new Ballot(1, 1), [[2]]), new ChosenOp(4, [[4]]), new CommitOp(2)]);

        Assert.True(Checkpoint.Covers(state, 2));
        Assert.False(Checkpoint.Covers(state, 3));
        Assert.False(Checkpoint.Covers(state, 4));
    }

    [Fact]
    public void A_checkpoint_folds_to_the_state_it_was_taken_from()
    {
        var ops = new OpGenerator(11).Take(300);
        var state = StateText.Fold(ops);
        state.Apply(new SnapshotOp(state.CommitIndex / 2, [5]));

        var restored = StateText.Fold([new SnapshotOp(state.SnapshotSlot, [5]), .. Checkpoint.From(state)]);

        Assert.Equal(StateText.Describe(state), StateText.Describe(restored));
    }

    [Fact]
    public void Options_refuse_limits_that_do_not_fit_together()
    {
        new StorageOptions().Validate();
        var tooBig = Assert.Throws<ArgumentException>(() => new StorageOptions { SegmentBytesMax = 8192, RecordBytesMax = 8192 }.Validate());
        Assert.Contains("RecordBytesMax (8192) plus its 12-byte header must fit in SegmentBytesMax (8192)", tooBig.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new StorageOptions { SegmentBytesMax = 100 }.Validate());
        Assert.Throws<ArgumentException>(() => new StorageOptions { RecordBytesMax = 10 }.Validate());
        Assert.Throws<ArgumentException>(() => new StorageOptions { SnapshotBytesMax = 0 }.Validate());
    }

    private static byte[] Encode(PersistOp op)
    {
        var payloadBytes = (int)RecordEncoder.PayloadBytes(op);
        var record = new byte[RecordFormat.HeaderBytes + payloadBytes];
        RecordEncoder.EncodePayload(op, record.AsSpan(RecordFormat.HeaderBytes));
        RecordFormat.WriteHeader(record.AsSpan(0, RecordFormat.HeaderBytes), record.AsSpan(RecordFormat.HeaderBytes));
        return record;
    }

    private static byte[] Filled(int count) => Enumerable.Repeat((byte)0xa5, count).ToArray();
}
