namespace Synod.Core;

/// <summary>
/// A snapshot from a peer (or this replica's own, at start) that the shell must restore before applying any later
/// committed entry: the state machine's bytes, a view into the whole snapshot after its configuration header (not a
/// copy of them: a state-sized copy costs seconds of page faults at a gigabyte).
/// </summary>
public sealed record SnapshotToInstall(long Slot, ReadOnlyMemory<byte> Data);
