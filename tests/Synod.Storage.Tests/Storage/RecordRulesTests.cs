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
            Assert.True(TornTailRule.IsTornTail(verdict, record.AsSpan(0, length), payload, lastSegment: true, recordOffset: 0));
            Assert.False(TornTailRule.IsTornTail(verdict, record.AsSpan(0, length), payload, lastSegment: false, recordOffset: 0));
        }
    }

    [Fact]
    public void A_damaged_length_is_caught_by_the_header_checksum()
    {
        var record = Encode(new CommitOp(9));
        record[1] ^= 0x01;

        Assert.Equal(RecordVerdict.HeaderChecksumMismatch, RecordInspector.Inspect(record, 1024, out _));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, record, 0, lastSegment: true, recordOffset: 0));
    }

    [Fact]
    public void A_length_out_of_range_under_a_valid_header_checksum_is_never_torn()
    {
        var record = Encode(new AcceptOp(1, new Ballot(1, 1), [new byte[100]]));

        Assert.Equal(RecordVerdict.LengthOutOfRange, RecordInspector.Inspect(record, 64, out _));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.LengthOutOfRange, record, 0, lastSegment: true, recordOffset: 0));
    }

    [Fact]
    public void Zeros_from_inside_a_record_to_the_end_are_torn_only_if_they_start_at_a_sector_boundary_inside_it()
    {
        // A record of 1,067 bytes at offset 0: sector boundaries inside it at 512 and 1024; its last byte, the end mark, at 1066.
        var whole = Encode(new AcceptOp(1, new Ballot(1, 1), [Filled(2 * Sector)]));
        Assert.Equal(1067, whole.Length);
        foreach (var (zeroFrom, torn) in new[] { (1024, true), (1025, false), (whole.Length - 1, false), (40, true), (RecordFormat.HeaderBytes, true) })
        {
            var record = (byte[])whole.Clone();
            Array.Clear(record, zeroFrom, record.Length - zeroFrom);
            var verdict = RecordInspector.Inspect(record, 4096, out var payload);

            Assert.Equal(RecordVerdict.PayloadChecksumMismatch, verdict);
            Assert.Equal(torn, TornTailRule.IsTornTail(verdict, record, payload, lastSegment: true, recordOffset: 0));
            Assert.False(TornTailRule.IsTornTail(verdict, record, payload, lastSegment: false, recordOffset: 0));
        }
    }

    [Fact]
    public void Sector_boundaries_are_counted_in_file_offsets_not_from_the_record()
    {
        // The same zeros, 100 bytes into a record at file offset 412, start exactly at the file's sector boundary 512.
        var record = Encode(new AcceptOp(1, new Ballot(1, 1), [Filled(300)]));
        Array.Clear(record, 100, record.Length - 100);
        var verdict = RecordInspector.Inspect(record, 4096, out var payload);

        Assert.True(TornTailRule.IsTornTail(verdict, record, payload, lastSegment: true, recordOffset: 412));
        Assert.False(TornTailRule.IsTornTail(verdict, record, payload, lastSegment: true, recordOffset: 413));
    }

    [Fact]
    public void Zeros_from_a_record_boundary_to_the_end_are_the_unused_end_and_a_header_is_torn_only_by_a_sector_boundary_inside_it()
    {
        Assert.True(TornTailRule.IsUnusedTail(new byte[Sector], lastSegment: true));
        Assert.True(TornTailRule.IsUnusedTail(new byte[3], lastSegment: true));
        Assert.False(TornTailRule.IsUnusedTail(new byte[Sector], lastSegment: false));

        // A header fully written, zeros after it: the zeros do not explain a header that fails its checksum.
        var tail = new byte[RecordFormat.HeaderBytes + Sector];
        tail.AsSpan(0, RecordFormat.HeaderBytes).Fill(0x5a);
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, tail, 0, lastSegment: true, recordOffset: 0));

        // A header across the sector boundary at 512, written only up to it: torn.
        Array.Clear(tail, 6, RecordFormat.HeaderBytes - 6);
        Assert.True(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, tail, 0, lastSegment: true, recordOffset: 506));
        Assert.False(TornTailRule.IsTornTail(RecordVerdict.HeaderChecksumMismatch, tail, 0, lastSegment: true, recordOffset: 507));
    }

    [Fact]
    public void Every_record_ends_in_its_nonzero_end_mark()
    {
        foreach (var op in new PersistOp[] { new PromiseOp(new Ballot(9, 2)), new AcceptOp(3, new Ballot(1, 1), []), new AcceptOp(3, new Ballot(1, 1), [[]]),
            new CommitOp(256), new VoterOp(new Ballot(4, 1)), new IncarnationOp(2, 0), new CheckpointEndOp(0), new RebuildOp() })
        {
            var record = Encode(op);
            Assert.Equal(RecordFormat.EndMark, record[^1]);
            Assert.Equal(RecordFormat.RecordVersion, record[RecordFormat.HeaderBytes]);
        }
    }

    [Fact]
    public void Records_of_version_2_without_an_end_mark_are_still_read()
    {
        var current = Encode(new PromiseOp(new Ballot(9, 2)));
        var payload = current.AsSpan(RecordFormat.HeaderBytes, current.Length - RecordFormat.HeaderBytes - 1).ToArray();
        payload[0] = RecordFormat.RecordVersionWithoutEndMark;
        var old = new byte[RecordFormat.HeaderBytes + payload.Length];
        payload.CopyTo(old, RecordFormat.HeaderBytes);
        RecordFormat.WriteHeader(old.AsSpan(0, RecordFormat.HeaderBytes), payload);

        var scan = SegmentScanner.Scan(old.Concat(current).ToArray(), lastSegment: true, 1024);

        Assert.Equal(SegmentEnd.Clean, scan.End);
        Assert.Equal([new PromiseOp(new Ballot(9, 2)), new PromiseOp(new Ballot(9, 2))], scan.Ops);
    }

    [Fact]
    public void A_last_record_that_lacks_only_its_end_mark_is_repaired_and_any_other_damage_is_not()
    {
        var record = Encode(new CommitOp(7));
        var segment = record.Concat(new byte[Sector]).ToArray();
        segment[record.Length - 1] = 0;

        var scan = SegmentScanner.Scan(segment, lastSegment: true, 1024);

        Assert.Equal([new CommitOp(7)], scan.Ops);
        Assert.Equal(record, scan.Repaired!.Bytes);
        Assert.Equal(0, scan.Repaired.Offset);
        Assert.Equal(SegmentEnd.UnusedTail, scan.End);

        // One more damaged byte and the checksum no longer matches with the mark restored: not whole.
        segment[RecordFormat.HeaderBytes + 3] ^= 0x40;
        Assert.Null(SegmentScanner.Scan(segment, lastSegment: true, 1024).Repaired);

        // Not the last record: nothing is repaired in the middle of a log.
        segment = record.Concat(record).ToArray();
        segment[record.Length - 1] = 0;
        Assert.Equal(SegmentEnd.Corrupt, SegmentScanner.Scan(segment, lastSegment: true, 1024).End);
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
        var segment = good.Concat(Encode(new CommitOp(2))).Concat(new byte[] { 1, 2, 3 }).ToArray();

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
        state.Apply(new SnapshotOp(state.CommitIndex / 2, new byte[] { 5 }));

        var restored = StateText.Fold([new SnapshotOp(state.SnapshotSlot, new byte[] { 5 }), .. Checkpoint.From(state)]);

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
