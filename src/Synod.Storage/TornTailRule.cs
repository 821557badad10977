namespace Synod.Storage;

/// <summary>
/// Whether a record that failed its checks is the torn end of a write a crash interrupted (cut it off and go on) or
/// damage (refuse to start). Only the last segment can end torn: a segment is synced before the next one is created.
/// </summary>
internal static class TornTailRule
{
    public static bool IsTornTail(RecordVerdict verdict, ReadOnlySpan<byte> rest, int payloadBytes, bool lastSegment)
    {
        if (!lastSegment)
        {
            return false;
        }

        return verdict switch
        {
            // A write cut short: the header or the payload never fully reached the disk.
            RecordVerdict.IncompleteHeader or RecordVerdict.RunsPastEnd => true,

            // Blocks the file system allocated but the crash kept from being written read back as zeros. The run must
            // begin inside the bytes that failed the check and reach the end of the file, and be a sector or more.
            RecordVerdict.HeaderChecksumMismatch => EndsInZeroSectors(rest, RecordFormat.HeaderBytes),
            RecordVerdict.PayloadChecksumMismatch => EndsInZeroSectors(rest, RecordFormat.HeaderBytes + payloadBytes),

            // An intact header with an impossible length was written so: that is a bug or damage, never a crash.
            _ => false,
        };
    }

    /// <summary>
    /// Whether the last segment ends, at a record boundary, in nothing but zeros, a sector or more: space allocated
    /// ahead of the log's end that no record reached. This is the zero rule below with the run starting at the
    /// boundary itself, so it accepts nothing the torn-tail rule would refuse.
    /// </summary>
    public static bool IsUnusedTail(ReadOnlySpan<byte> rest, bool lastSegment) =>
        lastSegment && ZeroRunStart(rest) == 0 && rest.Length >= RecordFormat.SectorBytes;

    /// <summary>
    /// Whether every byte from some point before <paramref name="failedBytes"/> to the end of <paramref name="rest"/>
    /// is zero, in a run of at least one sector.
    /// </summary>
    public static bool EndsInZeroSectors(ReadOnlySpan<byte> rest, int failedBytes)
    {
        var start = ZeroRunStart(rest);
        return start < failedBytes && rest.Length - start >= RecordFormat.SectorBytes;
    }

    /// <summary>Where the run of zero bytes that ends the span begins (the span's length if its last byte is not zero).</summary>
    public static int ZeroRunStart(ReadOnlySpan<byte> span)
    {
        var lastNonZero = span.LastIndexOfAnyExcept((byte)0);
        return lastNonZero + 1;
    }
}
