using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// The records of one segment that passed every check, where they end, and why the scan stopped there: for
/// <see cref="SegmentEnd.TornTail"/>, <see cref="SegmentEnd.Corrupt"/> and <see cref="SegmentEnd.UnsupportedVersion"/>
/// the failing record begins at <see cref="ValidBytes"/> and <see cref="Problem"/> says what failed. <see cref="Repaired"/>
/// is the last record, whole but for its end mark, which recovery writes again with the mark.
/// </summary>
internal sealed record SegmentScan(IReadOnlyList<PersistOp> Ops, long ValidBytes, long TotalBytes, SegmentEnd End, string? Problem, RepairedRecord? Repaired = null)
{
    public long TornBytes => End == SegmentEnd.TornTail ? TotalBytes - ValidBytes : 0;
}
