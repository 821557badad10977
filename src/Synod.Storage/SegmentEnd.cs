namespace Synod.Storage;

/// <summary>How a segment's scan ended.</summary>
internal enum SegmentEnd
{
    /// <summary>Every byte belongs to a whole record.</summary>
    Clean,

    /// <summary>The last segment ends in a record a crash tore; it is cut off at <see cref="SegmentScan.ValidBytes"/>.</summary>
    TornTail,

    /// <summary>
    /// The last segment ends, after its last whole record, in zeros to the end of the file (a sector or more): space
    /// allocated ahead of the log's end (RealDiskFile). It is cut off at <see cref="SegmentScan.ValidBytes"/> without a
    /// warning. This is the case of <see cref="TornTail"/> where no byte of a record was written, so it is no more lenient.
    /// </summary>
    UnusedTail,

    /// <summary>A record failed a check in a way no crash explains: the replica must not start.</summary>
    Corrupt,

    /// <summary>A record whose checksums match has a format version this build does not read.</summary>
    UnsupportedVersion,
}
