namespace Synod.Core;

/// <summary>A snapshot from a peer that the shell must restore before applying any later committed entry.</summary>
public sealed record SnapshotToInstall(long Slot, byte[] Data);
