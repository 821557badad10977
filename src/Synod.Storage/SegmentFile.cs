namespace Synod.Storage;

/// <summary>A closed WAL segment: its sequence number and its size on disk.</summary>
internal readonly record struct SegmentFile(long Sequence, long Bytes);
