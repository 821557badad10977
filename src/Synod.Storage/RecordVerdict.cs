namespace Synod.Storage;

/// <summary>What the checks of one record found, in the order they run (<see cref="RecordInspector.Inspect"/>).</summary>
internal enum RecordVerdict
{
    /// <summary>Header and payload checksums match; the record is whole.</summary>
    Complete,

    /// <summary>Fewer bytes than a header are left.</summary>
    IncompleteHeader,

    /// <summary>The header's own checksum does not match, so its length cannot be trusted.</summary>
    HeaderChecksumMismatch,

    /// <summary>The header is intact but gives a length below the minimum or above RecordBytesMax.</summary>
    LengthOutOfRange,

    /// <summary>The header is intact and the payload it announces runs past the end of the file.</summary>
    RunsPastEnd,

    /// <summary>The header is intact, the payload is all there, and its checksum does not match.</summary>
    PayloadChecksumMismatch,
}
