using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>Reads a segment's records in order and classifies the first one that fails (<see cref="TornTailRule"/>). Pure.</summary>
internal static class SegmentScanner
{
    public static SegmentScan Scan(ReadOnlySpan<byte> segment, bool lastSegment, int recordBytesMax)
    {
        var ops = new List<PersistOp>();
        var offset = 0;
        RepairedRecord? repaired = null;
        while (offset < segment.Length)
        {
            var rest = segment[offset..];
            var record = rest;
            var verdict = RecordInspector.Inspect(rest, recordBytesMax, out var payloadBytes);
            if (verdict == RecordVerdict.PayloadChecksumMismatch && lastSegment && TornTailRule.RepairEndMark(rest, payloadBytes) is { } whole)
            {
                // The last record lacks only its end mark, and with the mark restored its checksum matches: it is whole.
                repaired = new RepairedRecord(offset, whole);
                record = whole;
                verdict = RecordVerdict.Complete;
            }

            if (verdict != RecordVerdict.Complete)
            {
                if (TornTailRule.IsUnusedTail(rest, lastSegment))
                {
                    return new SegmentScan(ops, offset, segment.Length, SegmentEnd.UnusedTail, null, repaired);
                }

                var end = TornTailRule.IsTornTail(verdict, rest, payloadBytes, lastSegment, offset) ? SegmentEnd.TornTail : SegmentEnd.Corrupt;
                return new SegmentScan(ops, offset, segment.Length, end, Explain(verdict, payloadBytes, recordBytesMax, lastSegment), repaired);
            }

            var payload = record.Slice(RecordFormat.HeaderBytes, payloadBytes);
            var version = RecordDecoder.Version(payload);
            if (version is not (RecordFormat.RecordVersion or RecordFormat.RecordVersionWithoutEndMark))
            {
                return new SegmentScan(ops, offset, segment.Length, SegmentEnd.UnsupportedVersion,
                    $"a record of format version {version}, and this build reads versions {RecordFormat.RecordVersionWithoutEndMark} and {RecordFormat.RecordVersion}", repaired);
            }

            try
            {
                ops.Add(RecordDecoder.Decode(payload));
            }
            catch (MalformedRecordException e)
            {
                return new SegmentScan(ops, offset, segment.Length, SegmentEnd.Corrupt, $"a record whose checksums match does not decode ({e.Message})", repaired);
            }

            offset += RecordFormat.HeaderBytes + payloadBytes;
        }

        return new SegmentScan(ops, offset, segment.Length, SegmentEnd.Clean, null, repaired);
    }

    private static string Explain(RecordVerdict verdict, int payloadBytes, int recordBytesMax, bool lastSegment) => verdict switch
    {
        RecordVerdict.IncompleteHeader => lastSegment ? "the file ends inside a record header" : "a segment that is not the last ends inside a record header",
        RecordVerdict.HeaderChecksumMismatch => "a record header's checksum does not match",
        RecordVerdict.LengthOutOfRange => $"a record header whose checksum matches gives a length outside {RecordFormat.PayloadBytesMin}..{recordBytesMax} bytes",
        RecordVerdict.RunsPastEnd => lastSegment
            ? $"a record of {payloadBytes} bytes runs past the end of the file"
            : $"a record of {payloadBytes} bytes runs past the end of a segment that is not the last",
        RecordVerdict.PayloadChecksumMismatch => "a record's payload checksum does not match",
        _ => verdict.ToString(),
    };
}
