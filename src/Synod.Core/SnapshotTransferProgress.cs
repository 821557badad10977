namespace Synod.Core;

/// <summary>
/// A snapshot this replica is receiving from a peer: the source, the snapshot's slot, the tick its first chunk came (a
/// transfer begun again from the same source shows a later one), the bytes received in order so far (chunks that came
/// ahead of a missing one are not counted yet) and the snapshot's size. For the shell's progress lines and status; the
/// core decides nothing by it.
/// </summary>
public readonly record struct SnapshotTransferProgress(int From, long Slot, long StartedTick, long ReceivedBytes, long TotalBytes);
