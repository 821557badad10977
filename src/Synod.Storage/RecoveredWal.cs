namespace Synod.Storage;

/// <summary>The segments recovery found: the closed ones, and the last, opened for appending (its torn tail cut off).</summary>
internal sealed record RecoveredWal(List<SegmentFile> ClosedSegments, IDiskFile Current, long CurrentSequence);
