namespace Synod.Storage;

/// <summary>Checks the record at the start of a span that runs to the end of its file. Pure: the scanner decides what a failure means.</summary>
internal static class RecordInspector
{
    public static RecordVerdict Inspect(ReadOnlySpan<byte> rest, int recordBytesMax, out int payloadBytes)
    {
        payloadBytes = 0;
        if (rest.Length < RecordFormat.HeaderBytes)
        {
            return RecordVerdict.IncompleteHeader;
        }

        var header = rest[..RecordFormat.HeaderBytes];
        if (!RecordFormat.HeaderChecksumMatches(header))
        {
            return RecordVerdict.HeaderChecksumMismatch;
        }

        var length = RecordFormat.PayloadLength(header);
        if (length < RecordFormat.PayloadBytesMin || length > (uint)recordBytesMax)
        {
            return RecordVerdict.LengthOutOfRange;
        }

        payloadBytes = (int)length;
        if (RecordFormat.HeaderBytes + (long)length > rest.Length)
        {
            return RecordVerdict.RunsPastEnd;
        }

        var payload = rest.Slice(RecordFormat.HeaderBytes, payloadBytes);
        return RecordFormat.Checksum(payload) == RecordFormat.PayloadChecksum(header)
            ? RecordVerdict.Complete
            : RecordVerdict.PayloadChecksumMismatch;
    }
}
