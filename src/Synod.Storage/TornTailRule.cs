namespace Synod.Storage;

/// <summary>
/// Whether a record that failed its checks is the torn end of a write a crash interrupted (cut it off and go on) or
/// damage (refuse to start). Only the last segment can end torn: a segment is synced before the next one is created.
/// A crash leaves only these shapes: a file that ends inside a record, or a record whose bytes from some sector
/// boundary on were never written, and so read back as zeros to the end of the file (zeros written ahead, or blocks
/// allocated and never written). Every record of version 3 ends in a non-zero end mark, so a record whose mark is
/// present was written whole: damage to any other byte of it is refused (docs/storage.md, "Recovery").
/// </summary>
internal static class TornTailRule
{
    public static bool IsTornTail(RecordVerdict verdict, ReadOnlySpan<byte> rest, int payloadBytes, bool lastSegment, long recordOffset)
    {
        if (!lastSegment)
        {
            return false;
        }

        return verdict switch
        {
            // A write cut short: the header or the payload never fully reached the disk.
            RecordVerdict.IncompleteHeader or RecordVerdict.RunsPastEnd => true,

            // Sectors never written read back as zeros: the zeros must run from a sector boundary inside the bytes that
            // failed the check (the header, or the record up to and including its last byte) to the end of the file.
            RecordVerdict.HeaderChecksumMismatch => UnwrittenFrom(rest, recordOffset) < recordOffset + RecordFormat.HeaderBytes,
            RecordVerdict.PayloadChecksumMismatch => UnwrittenFrom(rest, recordOffset) < recordOffset + RecordFormat.HeaderBytes + payloadBytes,

            // An intact header with an impossible length was written so: that is a bug or damage, never a crash.
            _ => false,
        };
    }

    /// <summary>
    /// Whether the last segment ends, at a record boundary, in nothing but zeros: no byte of a record was written there
    /// (space allocated ahead of the log's end, or a crash that kept none of the last write).
    /// </summary>
    public static bool IsUnusedTail(ReadOnlySpan<byte> rest, bool lastSegment) =>
        lastSegment && rest.Length > 0 && ZeroRunStart(rest) == 0;

    /// <summary>
    /// The record at the start of <paramref name="rest"/>, with its end mark restored, if that is all it lacks: its last
    /// byte is zero, only zeros follow it to the end of the file, and with the mark its payload checksum matches. A crash
    /// that lost exactly the sector holding the mark, or damage to the mark alone, leaves this; either way the record's
    /// content is what was written. Null otherwise.
    /// </summary>
    public static byte[]? RepairEndMark(ReadOnlySpan<byte> rest, int payloadBytes)
    {
        var length = RecordFormat.HeaderBytes + payloadBytes;
        if (payloadBytes < RecordFormat.PayloadBytesMin || rest.Length < length || rest[length - 1] != 0 ||
            rest[RecordFormat.HeaderBytes] != RecordFormat.RecordVersion || rest[length..].IndexOfAnyExcept((byte)0) >= 0)
        {
            return null;
        }

        var record = rest[..length].ToArray();
        record[^1] = RecordFormat.EndMark;
        return RecordFormat.Checksum(record.AsSpan(RecordFormat.HeaderBytes)) == RecordFormat.PayloadChecksum(record) ? record : null;
    }

    /// <summary>
    /// The file offset of the first sector boundary at or after the start of the zeros that end <paramref name="rest"/>:
    /// from there on, nothing was written. <paramref name="recordOffset"/> is where <paramref name="rest"/> begins in its file.
    /// </summary>
    public static long UnwrittenFrom(ReadOnlySpan<byte> rest, long recordOffset)
    {
        var zerosFrom = recordOffset + ZeroRunStart(rest);
        return (zerosFrom + RecordFormat.SectorBytes - 1) / RecordFormat.SectorBytes * RecordFormat.SectorBytes;
    }

    /// <summary>Where the run of zero bytes that ends the span begins (the span's length if its last byte is not zero).</summary>
    public static int ZeroRunStart(ReadOnlySpan<byte> span)
    {
        var lastNonZero = span.LastIndexOfAnyExcept((byte)0);
        return lastNonZero + 1;
    }
}
